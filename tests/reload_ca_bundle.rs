//! SIGHUP reloads the CA bundle too: after the bundle is replaced, new handshakes from clients of
//! the old CA are refused and clients of the new CA are accepted, and a keep-alive connection of
//! the old CA opened before the reload is closed, with an audit `cut` event saying why.

mod common;

use std::time::Duration;

use common::client::{config, connect, connect_with, read_to_close};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process};
use common::pki::{Authority, ClientSpec, Pki};
use tokio::io::AsyncWriteExt;

const ANYONE: &str = "[[allow]]\ncn = \"*\"\naccess = \"full\"\n";

async fn ping_ok(tls: &mut common::client::Tls, close: bool) -> bool {
    let conn = if close { "close" } else { "keep-alive" };
    let req = format!("GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: {conn}\r\n\r\n");
    if tls.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    if close {
        let (bytes, _) = read_to_close(tls).await;
        return bytes.starts_with(b"HTTP/1.1 200");
    }
    let mut buf = [0u8; 512];
    let n = tokio::io::AsyncReadExt::read(tls, &mut buf)
        .await
        .unwrap_or(0);
    buf[..n].starts_with(b"HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread")]
async fn replaced_ca_bundle_applies_to_new_handshakes() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let config_path = write_config(&pki, &engine.socket, ANYONE);
    let mut gw = tokio::task::block_in_place(|| Process::start_with_config(&config_path));
    let old_client = pki.client("old");
    let mut open = connect(gw.addr, &pki, &old_client).await;
    assert!(ping_ok(&mut open, false).await);

    let new_ca = Authority::new("second CA");
    let new_client = pki.issue("new", &ClientSpec::new("new"), &new_ca);
    // The gateway's bundle moves to a new file; the clients keep trusting the server's CA.
    let bundle = pki.path().join("client-ca.pem");
    std::fs::write(&bundle, new_ca.cert.pem()).expect("write");
    let text = std::fs::read_to_string(&config_path).expect("read");
    let old_line = format!(
        "ca = {}",
        toml::Value::String(pki.ca_path.display().to_string())
    );
    assert!(text.contains(&old_line));
    let new_line = format!("ca = {}", toml::Value::String(bundle.display().to_string()));
    std::fs::write(&config_path, text.replace(&old_line, &new_line)).expect("write");
    let before = gw.logs().len();
    gw.signal("HUP");
    gw.wait_reloaded(before);

    let refused = match connect_with(gw.addr, config(&pki, Some(&old_client))).await {
        Err(_) => true,
        Ok(mut tls) => !ping_ok(&mut tls, true).await,
    };
    assert!(
        refused,
        "a client of the old CA got through after the CA bundle was replaced"
    );
    let mut fresh = connect(gw.addr, &pki, &new_client).await;
    assert!(
        ping_ok(&mut fresh, true).await,
        "a client of the new CA was refused"
    );
    assert!(
        !ping_ok(&mut open, false).await,
        "a connection of the removed CA was still served after the reload"
    );
    let cut = gw
        .wait_log(Duration::from_secs(10), |v| {
            v["target"] == "dockgate::audit" && v["event"] == "cut"
        })
        .expect("an audit cut event");
    assert_eq!(cut["reason"], "certificate_not_trusted");
    assert_eq!(cut["client_cn"], "old");
    gw.signal("TERM");
    drop(open);
    assert!(tokio::task::block_in_place(|| gw.wait_exit(Duration::from_secs(40))).is_some());
}

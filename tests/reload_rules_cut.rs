//! A reload applies the new rules to connections already open: when `ops` goes from `full` to
//! `read-only`, its running hijacked session (an exec) is cut with reason
//! `request_no_longer_allowed` while its idle keep-alive connection stays and is now read-only;
//! when `temp`'s rule is removed, its idle connection is closed with reason `no_matching_rule`.

mod common;

use std::time::Duration;

use common::client::{connect, read_to_close, Tls};
use common::fake::{echo_upgrade, read_head, FakeEngine};
use common::gateway::{write_config, Process};
use common::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BEFORE: &str =
    "[[allow]]\ncn = \"ops\"\naccess = \"full\"\n\n[[allow]]\ncn = \"temp\"\naccess = \"full\"\n";
const AFTER: &str = "[[allow]]\ncn = \"ops\"\naccess = \"read-only\"\n";

/// Hijacks `/exec/.../start` (echo), answers 200 to the rest.
fn engine() -> FakeEngine {
    FakeEngine::start(|mut s| async move {
        while let Some(head) = read_head(&mut s).await {
            if head.contains("/start") {
                echo_upgrade(&mut s).await;
                return;
            }
            if s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            )
            .await
            .is_err()
            {
                return;
            }
        }
    })
}

async fn status_of(tls: &mut Tls, request: &str) -> Option<String> {
    tls.write_all(request.as_bytes()).await.ok()?;
    let mut buf = [0u8; 1024];
    let n = tls.read(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    (n > 0).then(|| text.lines().next().unwrap_or("").to_string())
}

const PING: &str = "GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n";
const STOP: &str =
    "POST /containers/x/stop HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn reloaded_rules_cut_what_they_no_longer_allow() {
    let pki = Pki::new();
    let engine = engine();
    let config = write_config(&pki, &engine.socket, BEFORE);
    let gw = tokio::task::block_in_place(|| Process::start_with_config(&config));
    let (ops, temp) = (pki.client("ops"), pki.client("temp"));

    let mut exec = connect(gw.addr, &pki, &ops).await;
    let line = status_of(
        &mut exec,
        "POST /exec/e1/start HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 101 UPGRADED"));
    exec.write_all(b"ping").await.expect("write");
    let mut echo = [0u8; 4];
    exec.read_exact(&mut echo).await.expect("echo");

    let mut idle_ops = connect(gw.addr, &pki, &ops).await;
    assert_eq!(
        status_of(&mut idle_ops, PING).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    let mut idle_temp = connect(gw.addr, &pki, &temp).await;
    assert_eq!(
        status_of(&mut idle_temp, PING).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );

    let text = std::fs::read_to_string(&config).expect("read");
    std::fs::write(&config, text.replace(BEFORE, AFTER)).expect("write");
    let before = gw.logs().len();
    gw.signal("HUP");
    tokio::task::block_in_place(|| gw.wait_reloaded(before));

    let (_, _) = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut exec))
        .await
        .expect("the exec session outlived the rule that allowed it");
    let (_, _) = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut idle_temp))
        .await
        .expect("a client with no rule kept its connection");

    // ops's idle connection stays, with read-only access now.
    assert_eq!(
        status_of(&mut idle_ops, PING).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    assert_eq!(
        status_of(&mut idle_ops, STOP).await.as_deref(),
        Some("HTTP/1.1 403 Forbidden")
    );

    let cuts: Vec<(String, String)> = gw
        .audit()
        .into_iter()
        .filter(|v| v["event"] == "cut")
        .map(|v| {
            (
                v["client_cn"].as_str().unwrap_or("").to_string(),
                v["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        cuts.contains(&("ops".into(), "request_no_longer_allowed".into())),
        "{cuts:?}"
    );
    assert!(
        cuts.contains(&("temp".into(), "no_matching_rule".into())),
        "{cuts:?}"
    );
    assert_eq!(cuts.len(), 2, "{cuts:?}");
}

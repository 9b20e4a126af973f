//! Every client the handshake must refuse is refused before any HTTP, and nothing reaches the
//! engine: no certificate, expired, not yet valid, another CA, no clientAuth EKU (absent or
//! serverAuth only), a CA certificate as the client certificate. Under TLS 1.3 and 1.2, with
//! rustls and with curl.

mod common;

use common::client::{config, config_with, connect_with, read_to_close};
use common::fake::FakeEngine;
use common::gateway::InProcess;
use common::pki::{Authority, ClientCert, ClientSpec, Pki};
use rcgen::ExtendedKeyUsagePurpose;
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncWriteExt;

/// Everyone who completes a handshake would be allowed, so only the handshake can stop them.
const ANYONE: &str = "[[allow]]\ncn = \"*\"\naccess = \"full\"\n";

async fn refused(gw: &InProcess, cfg: rustls::ClientConfig) -> Result<(), String> {
    let mut tls = match connect_with(gw.addr, cfg).await {
        Err(_) => return Ok(()),
        Ok(t) => t,
    };
    // TLS 1.3: the client's handshake ends before the server has checked its certificate.
    let _ = tls
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let (bytes, _) = read_to_close(&mut tls).await;
    if bytes.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "got a response: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }
}

fn bad_clients(pki: &Pki) -> Vec<(&'static str, ClientCert)> {
    let now = OffsetDateTime::now_utc();
    let mut expired = ClientSpec::new("admin");
    expired.not_before = now - Duration::days(30);
    expired.not_after = now - Duration::days(1);
    let mut future = ClientSpec::new("admin");
    future.not_before = now + Duration::days(1);
    future.not_after = now + Duration::days(30);
    let mut no_eku = ClientSpec::new("admin");
    no_eku.eku = vec![];
    let mut server_eku = ClientSpec::new("admin");
    server_eku.eku = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let mut ca_leaf = ClientSpec::new("admin");
    ca_leaf.is_ca = true;
    let other = Authority::new("some other CA");
    vec![
        ("expired", pki.client_spec("expired", &expired)),
        ("not yet valid", pki.client_spec("future", &future)),
        ("no EKU", pki.client_spec("no-eku", &no_eku)),
        (
            "serverAuth EKU only",
            pki.client_spec("server-eku", &server_eku),
        ),
        ("CA certificate", pki.client_spec("ca-leaf", &ca_leaf)),
        (
            "another CA",
            pki.issue("other-ca", &ClientSpec::new("admin"), &other),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_refuses_every_bad_client_and_nothing_reaches_the_engine() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, ANYONE).await;

    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        refused(&gw, config_with(&pki, None, &[version]))
            .await
            .unwrap_or_else(|e| panic!("no certificate ({version:?}): {e}"));
        for (what, client) in bad_clients(&pki) {
            refused(&gw, config_with(&pki, Some(&client), &[version]))
                .await
                .unwrap_or_else(|e| panic!("{what} ({version:?}): {e}"));
        }
    }
    assert_eq!(
        engine.connections(),
        0,
        "a refused client reached the engine"
    );

    // The control: a good certificate gets through, and reaches the engine.
    let good = pki.client("admin");
    let mut tls = connect_with(gw.addr, config(&pki, Some(&good)))
        .await
        .expect("handshake");
    tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let (bytes, _) = read_to_close(&mut tls).await;
    assert!(
        bytes.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(engine.connections(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_without_or_with_bad_certificates_gets_no_http_response() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, ANYONE).await;
    let url = format!("https://{}/_ping", gw.addr);

    let run = |args: Vec<std::ffi::OsString>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "20",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .args(args)
                .arg(url)
                .output()
                .expect("curl")
        })
    };
    let out = run(vec!["--cacert".into(), pki.ca_path.clone().into()])
        .await
        .expect("join");
    assert!(
        !out.status.success(),
        "curl without a certificate succeeded"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "000",
        "an HTTP status came back"
    );

    for (what, client) in bad_clients(&pki) {
        let out = run(vec![
            "--cacert".into(),
            pki.ca_path.clone().into(),
            "--cert".into(),
            client.cert().into(),
            "--key".into(),
            client.key().into(),
        ])
        .await
        .expect("join");
        assert!(!out.status.success(), "curl with {what} succeeded");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "000",
            "{what}: an HTTP status came back"
        );
    }
    assert_eq!(engine.connections(), 0);
}

//! What the TLS listener offers, checked with openssl and curl: TLS 1.2 and 1.3 are accepted, TLS
//! 1.1 is refused; ALPN negotiates `http/1.1` and nothing else (a client offering only `h2` is
//! refused); the gateway serves on IPv6 loopback too.

mod common;

use std::process::Command;

use common::cli::{all_output, curl};
use common::fake::FakeEngine;
use common::gateway::{write_config, InProcess, RULES};
use common::pki::{ClientCert, Pki};

fn s_client(addr: std::net::SocketAddr, client: &ClientCert, extra: &[&str]) -> (bool, String) {
    let out = Command::new("timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
            "-cert",
        ])
        .arg(client.cert())
        .arg("-key")
        .arg(client.key())
        .arg("-CAfile")
        .arg(client.ca())
        .args(extra)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    let text = all_output(&out);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_versions_and_alpn() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let admin = pki.client("admin");
    let addr = gw.addr;
    tokio::task::spawn_blocking(move || {
        let (ok, text) = s_client(addr, &admin, &["-tls1_2"]);
        assert!(ok && text.contains("TLSv1.2"), "{text}");
        let (ok, text) = s_client(addr, &admin, &["-tls1_3"]);
        assert!(ok && text.contains("TLSv1.3"), "{text}");
        // SECLEVEL=0 lets openssl offer TLS 1.1, so the refusal is the gateway's.
        let (ok, text) = s_client(addr, &admin, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(!ok || text.contains("alert"), "TLS 1.1 accepted: {text}");
        assert!(!text.contains("New, TLSv1.1"), "{text}");

        let (ok, text) = s_client(addr, &admin, &["-alpn", "h2,http/1.1"]);
        assert!(ok && text.contains("ALPN protocol: http/1.1"), "{text}");
        let (_, text) = s_client(addr, &admin, &["-alpn", "h2"]);
        assert!(
            text.contains("no application protocol"),
            "h2-only client not refused: {text}"
        );
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_ipv6_loopback() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let config = write_config(&pki, &engine.socket, RULES);
    let config = dockgate::config::Config::load(&config).expect("config");
    let listener = tokio::net::TcpListener::bind("[::1]:0")
        .await
        .expect("bind ::1");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(dockgate::run(
        vec![listener],
        config,
        std::future::pending::<()>(),
    ));
    let admin = pki.client("admin");
    let out = tokio::task::spawn_blocking(move || {
        curl(&admin)
            .arg("-f")
            .arg(format!("https://[::1]:{}/_ping", addr.port()))
            .output()
            .expect("curl")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"ok\":true}");
}

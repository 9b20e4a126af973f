//! An `Upgrade` on an HTTP/1.0 request is refused with a Docker-style 400 and never reaches the
//! engine: hyper never upgrades HTTP/1.0, so the engine would hijack the connection and the
//! client would only see it close.

mod common;

use common::client::{connect, read_to_close};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread")]
async fn upgrade_on_http_1_0_gets_400_and_nothing_reaches_the_engine() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(
        b"POST /containers/x/attach?stream=1&stdin=1 HTTP/1.0\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    )
    .await
    .expect("write");
    let (bytes, _) = read_to_close(&mut tls).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.0 400"), "{text}");
    assert!(text.contains("HTTP/1.0 cannot switch protocols"), "{text}");
    assert!(text.contains("application/json"), "{text}");
    assert_eq!(engine.connections(), 0, "the request reached the engine");

    // An HTTP/1.0 request without Upgrade is forwarded as usual (this engine answers 200).
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"GET /_ping HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let (bytes, _) = read_to_close(&mut tls).await;
    assert!(
        bytes.starts_with(b"HTTP/1.0 200"),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(engine.connections(), 1);
}

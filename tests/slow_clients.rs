//! Slow or silent clients are cut by the limits and never hold up anyone else: a TCP client that
//! never starts TLS (`limits.handshake_timeout`), and a verified client that dribbles or stalls
//! its request head (`limits.header_timeout`). Nothing of theirs reaches the engine.

mod common;

use std::time::Duration;

use common::client::{connect, get, read_to_close, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const FAST_LIMITS: &str = "[limits]\nhandshake_timeout = \"1s\"\nheader_timeout = \"1s\"\n";

async fn gateway() -> (Pki, FakeEngine, InProcess) {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, &format!("{FAST_LIMITS}\n{RULES}")).await;
    (pki, engine, gw)
}

/// Guard against a gateway that never cuts: far longer than the 1 s limits.
const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn silent_tcp_client_is_cut_at_the_handshake_timeout() {
    let (pki, engine, gw) = gateway().await;
    let mut tcp = TcpStream::connect(gw.addr).await.expect("connect");
    let (bytes, _) = tokio::time::timeout(GUARD, read_to_close(&mut tcp))
        .await
        .expect("the silent client was never cut");
    assert!(bytes.is_empty());
    // Others are served meanwhile and after.
    let reply = request(gw.addr, &pki, &pki.client("admin"), get("/_ping")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(engine.connections(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_request_head_is_cut_at_the_header_timeout() {
    let (pki, engine, gw) = gateway().await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("write");
    let (bytes, _) = tokio::time::timeout(GUARD, read_to_close(&mut tls))
        .await
        .expect("the stalled client was never cut");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(" 200 "), "{text}");
    assert_eq!(
        engine.connections(),
        0,
        "a partial request reached the engine"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dribbled_request_head_is_cut_even_though_bytes_keep_coming() {
    let (pki, engine, gw) = gateway().await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    let dribble = async {
        tls.write_all(b"GET /_ping HTTP/1.1\r\n").await?;
        loop {
            tls.write_all(b"X-Slow: 1\r\n").await?;
            tls.flush().await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    let cut = tokio::time::timeout(GUARD, dribble).await;
    assert!(
        matches!(cut, Ok(Err(_))),
        "the dribbling client was never cut"
    );
    assert_eq!(engine.connections(), 0);
}

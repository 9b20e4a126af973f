//! Beyond `limits.max_connections`, a new verified connection waits (its requests are not
//! served) until an open one closes; hijacked streams hold their slot until the splice ends.

mod common;

use std::time::Duration;

use common::client::{connect, get, ping_ok, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;

#[tokio::test(flavor = "multi_thread")]
async fn third_connection_waits_until_one_of_two_closes() {
    let pki = std::sync::Arc::new(Pki::new());
    let engine = FakeEngine::ok();
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!("[limits]\nmax_connections = 2\n\n{RULES}"),
    )
    .await;
    let admin = pki.client("admin");
    let mut first = connect(gw.addr, &pki, &admin).await;
    let mut second = connect(gw.addr, &pki, &admin).await;
    // Served, so the gateway holds both slots (a TLS 1.3 client is done with its handshake
    // before the server has verified it).
    assert!(ping_ok(&mut first).await && ping_ok(&mut second).await);

    // Another client: admin itself is at its per-identity cap (at most max_connections).
    let (addr, pki2, other) = (gw.addr, pki.clone(), pki.client("reader"));
    let third = tokio::spawn(async move { request(addr, &pki2, &other, get("/_ping")).await });
    // While two are open, the third is not served. (A bounded look: the opposite would be a bug.)
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past max_connections = 2"
    );

    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(20), third)
        .await
        .expect("the waiting connection was not served after a slot freed")
        .expect("join");
    assert_eq!(served.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn hijacked_streams_count_against_the_limit() {
    use common::fake::read_head;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let pki = std::sync::Arc::new(Pki::new());
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            .await;
        // Echo until the client is done.
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!("[limits]\nmax_connections = 1\n\n{RULES}"),
    )
    .await;
    let admin = pki.client("admin");
    let mut hijacked = connect(gw.addr, &pki, &admin).await;
    hijacked
        .write_all(b"POST /exec/x/start HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        hijacked.read_exact(&mut b).await.expect("101");
        head.push(b[0]);
    }
    hijacked.write_all(b"ping").await.expect("write");
    let mut echo = [0u8; 4];
    hijacked.read_exact(&mut echo).await.expect("echo");
    assert_eq!(&echo, b"ping", "the stream is spliced");

    let (addr, pki2, other) = (gw.addr, pki.clone(), pki.client("reader"));
    // whoami is answered by the gateway itself (this engine only knows hijacks).
    let second =
        tokio::spawn(async move { request(addr, &pki2, &other, get("/_dockgate/whoami")).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !second.is_finished(),
        "a hijacked stream did not count against max_connections = 1"
    );

    drop(hijacked);
    let served = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .expect("not served after the stream closed")
        .expect("join");
    assert_eq!(served.status, 200);
}

//! Request bodies stream to the engine as the client sends them (`build`, `images/load`,
//! `PUT .../archive`): the engine sees the first part of an upload before the client has sent
//! the rest, so nothing is held back in the gateway's memory.

mod common;

use std::time::Duration;

use common::client::{connect, read_to_close};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn upload_reaches_the_engine_while_it_is_still_being_sent() {
    let pki = Pki::new();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let engine = FakeEngine::start(move |mut s| {
        let seen_tx = seen_tx.clone();
        async move {
            read_head(&mut s).await;
            // Report every piece of the (chunked) body as it arrives, until the final chunk.
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            while !all.ends_with(b"0\r\n\r\n") {
                let n = match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                all.extend_from_slice(&buf[..n]);
                let _ = seen_tx.send(buf[..n].to_vec());
            }
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
                .await;
        }
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"POST /v1.41/images/load HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .await
        .expect("head");
    tls.write_all(b"5\r\nfirst\r\n").await.expect("first chunk");
    tls.flush().await.expect("flush");

    // The rest is only sent once the engine has the first part.
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("first") {
        let piece = tokio::time::timeout(Duration::from_secs(20), seen_rx.recv())
            .await
            .expect("the first part never reached the engine: the body was held back")
            .expect("engine");
        received.extend_from_slice(&piece);
    }
    tls.write_all(b"6\r\nsecond\r\n0\r\n\r\n")
        .await
        .expect("rest");
    let (bytes, _) = tokio::time::timeout(Duration::from_secs(20), read_to_close(&mut tls))
        .await
        .expect("response");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("done"),
        "{text}"
    );
}

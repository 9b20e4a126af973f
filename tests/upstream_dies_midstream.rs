//! An engine that dies in the middle of a response makes the gateway abort the client's
//! connection: the client never sees a clean end (no final chunk, no full Content-Length), so it
//! cannot mistake a truncated `docker save` or log for a complete one.

mod common;

use common::client::{connect, read_to_close};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;

async fn fetch(gw: &InProcess, pki: &Pki) -> Vec<u8> {
    let mut tls = connect(gw.addr, pki, &pki.client("admin")).await;
    tls.write_all(b"GET /containers/x/export HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), read_to_close(&mut tls));
    read.await.expect("the gateway kept the connection open").0
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_response_cut_short_has_no_final_chunk() {
    let pki = Pki::new();
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
        // The engine dies here.
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let bytes = fetch(&gw, &pki).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("hello"),
        "data before the failure is delivered: {text}"
    );
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the response was ended cleanly: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn content_length_response_cut_short_is_closed_early() {
    let pki = Pki::new();
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nContent-Length: 100000\r\n\r\nhello")
            .await;
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let bytes = fetch(&gw, &pki).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.to_ascii_lowercase().contains("content-length: 100000"),
        "{text}"
    );
    let body = &bytes[bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head")
        + 4..];
    assert_eq!(
        body, b"hello",
        "the connection must close after the partial body"
    );
}

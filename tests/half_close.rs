//! Hijacked streams half-close correctly: the client ending its input with `close_notify` or with
//! a bare TCP FIN (no `close_notify`) ends the engine's stdin while the engine's output keeps
//! coming back; and the engine ending its output ends the client's side at once, even while the
//! client's input is still open. The `101` reaches the client with the engine's headers.

mod common;

use std::time::Duration;

use common::client::{connect, read_to_close, Tls};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HIJACK: &[u8] = b"POST /v1.41/containers/x/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n";
const UPGRADED: &[u8] = b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// An engine that echoes everything it reads once its stdin closes, then exits.
fn echo_after_eof() -> FakeEngine {
    FakeEngine::start(|mut s| async move {
        let head = read_head(&mut s).await.unwrap_or_default();
        assert!(head.to_ascii_lowercase().contains("upgrade: tcp"), "{head}");
        s.write_all(UPGRADED).await.expect("101");
        let mut input = Vec::new();
        s.read_to_end(&mut input).await.expect("stdin");
        let mut out = b"got:".to_vec();
        out.extend_from_slice(&input);
        s.write_all(&out).await.expect("stdout");
    })
}

async fn upgrade(tls: &mut Tls) -> String {
    tls.write_all(HIJACK).await.expect("write");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tls.read_exact(&mut b).await.expect("101 head");
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).to_ascii_lowercase()
}

async fn output_after(mut tls: Tls) -> String {
    let (bytes, end) = tokio::time::timeout(Duration::from_secs(20), read_to_close(&mut tls))
        .await
        .expect("the gateway did not end the stream");
    assert!(end.is_ok(), "stream not ended with close_notify: {end:?}");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_101_keeps_the_engines_headers() {
    let pki = Pki::new();
    let engine = echo_after_eof();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    let head = upgrade(&mut tls).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("content-type: application/vnd.docker.raw-stream"),
        "{head}"
    );
    assert!(head.contains("upgrade: tcp"), "{head}");
    assert!(head.contains("connection: upgrade"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn close_notify_ends_stdin_and_output_still_arrives() {
    let pki = Pki::new();
    let engine = echo_after_eof();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    upgrade(&mut tls).await;
    tls.write_all(b"data").await.expect("stdin");
    // close_notify alone, the TCP connection stays open both ways.
    tls.get_mut().1.send_close_notify();
    tls.flush().await.expect("flush");
    assert_eq!(output_after(tls).await, "got:data");
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_fin_without_close_notify_ends_stdin_and_output_still_arrives() {
    let pki = Pki::new();
    let engine = echo_after_eof();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    upgrade(&mut tls).await;
    tls.write_all(b"data").await.expect("stdin");
    tls.flush().await.expect("flush");
    // A TCP FIN with no close_notify, as older clients send.
    tls.get_mut().0.shutdown().await.expect("shutdown");
    assert_eq!(output_after(tls).await, "got:data");
}

#[tokio::test(flavor = "multi_thread")]
async fn engine_exit_ends_the_client_side_while_its_input_is_open() {
    let pki = Pki::new();
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        s.write_all(UPGRADED).await.expect("101");
        s.write_all(b"bye").await.expect("stdout");
        // The process exits: the engine closes the connection with the client's stdin still open.
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    upgrade(&mut tls).await;
    tls.write_all(b"still typing").await.expect("stdin");
    assert_eq!(output_after(tls).await, "bye");
}

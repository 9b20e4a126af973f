//! Trailer fields pass through in both directions (`Trailer` is end-to-end, RFC 9110 section
//! 6.6.2): an engine's response trailers reach a client that sent `TE: trailers` (hyper writes
//! them to no other client), which the engine is told as `TE: trailers`; a client's request
//! trailers reach the engine. A client without `TE: trailers` still gets the whole body.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::client::{connect, read_to_close};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNKED_WITH_TRAILERS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: sha256:abc123\r\n\r\n";

/// An engine that records each request head and answers it with a chunked body and a trailer.
fn trailing_engine(heads: Arc<Mutex<Vec<String>>>) -> FakeEngine {
    FakeEngine::start(move |mut s| {
        let heads = heads.clone();
        async move {
            while let Some(head) = read_head(&mut s).await {
                heads.lock().expect("heads").push(head.to_ascii_lowercase());
                if s.write_all(CHUNKED_WITH_TRAILERS).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// GET /_ping with the given extra headers; the body and the trailers that came with it.
async fn get(
    gw: &InProcess,
    pki: &Pki,
    headers: &[(&str, &str)],
) -> (Bytes, Option<http::HeaderMap>) {
    let tls = connect(gw.addr, pki, &pki.client("admin")).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http handshake");
    tokio::spawn(conn);
    let mut req = http::Request::get("/_ping").header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::new())).expect("request"))
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["trailer"],
        "X-Checksum",
        "Trailer was dropped"
    );
    let collected = resp.into_body().collect().await.expect("body");
    let trailers = collected.trailers().cloned();
    (collected.to_bytes(), trailers)
}

#[tokio::test(flavor = "multi_thread")]
async fn response_trailers_reach_a_client_that_accepts_them() {
    let pki = Pki::new();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let engine = trailing_engine(heads.clone());
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;

    let (body, trailers) = get(&gw, &pki, &[("te", "trailers")]).await;
    assert_eq!(body, "hello world");
    let trailers = trailers.expect("no trailers reached the client");
    assert_eq!(trailers["x-checksum"], "sha256:abc123");
    let head = heads.lock().expect("heads")[0].clone();
    assert!(head.contains("\r\nte: trailers\r\n"), "{head}");

    // Without TE: trailers, the body is intact and the engine is not told otherwise.
    let (body, _) = get(&gw, &pki, &[]).await;
    assert_eq!(body, "hello world");
    let head = heads.lock().expect("heads")[1].clone();
    assert!(!head.contains("\r\nte:"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn request_trailers_reach_the_engine() {
    let received = Arc::new(Mutex::new(None::<String>));
    let sink = received.clone();
    let engine = FakeEngine::start(move |mut s| {
        let sink = sink.clone();
        async move {
            let Some(head) = read_head(&mut s).await else {
                return;
            };
            // Read the chunked body through the blank line after its trailer section.
            let mut body = Vec::new();
            let mut buf = [0u8; 1024];
            while !(body.ends_with(b"\r\n\r\n") && body.windows(3).any(|w| w == b"0\r\n")) {
                match s.read(&mut buf).await {
                    Ok(n @ 1..) => body.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            *sink.lock().expect("sink") = Some(format!(
                "{}{}",
                head.to_ascii_lowercase(),
                String::from_utf8_lossy(&body).to_ascii_lowercase()
            ));
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
                .await;
        }
    });
    let pki = Pki::new();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;

    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(
        b"POST /v1.41/build HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Digest: sha256:def456\r\n\r\n",
    )
    .await
    .expect("write");
    let (answer, _) = read_to_close(&mut tls).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let seen = received
        .lock()
        .expect("sink")
        .clone()
        .expect("engine saw a request");
    let (head, body) = seen.split_once("\r\n\r\n").expect("head and body");
    assert!(head.contains("\r\ntrailer: x-digest"), "{head}");
    let (_, trailer_section) = body.split_once("\r\n0\r\n").expect("last chunk");
    assert!(
        trailer_section.contains("x-digest: sha256:def456\r\n"),
        "{body:?}"
    );
}

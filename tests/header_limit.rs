//! Request heads over `limits.max_header_bytes` get a Docker-style 431 naming the limit and never
//! reach the engine; the default
//! leaves room for the docker CLI's `X-Registry-Config` header (every registry credential,
//! base64), which reaches the engine intact.

mod common;

use bytes::Bytes;
use common::client::request;
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use http_body_util::Full;
use tokio::io::AsyncWriteExt;

fn with_header(len: usize) -> http::Request<Full<Bytes>> {
    http::Request::post("/v1.41/build")
        .header("host", "localhost")
        .header("x-registry-config", "A".repeat(len))
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// An engine that answers with the length of the X-Registry-Config header it received.
fn measuring_engine() -> FakeEngine {
    FakeEngine::start(|mut s| async move {
        while let Some(head) = read_head(&mut s).await {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("x-registry-config: ")
                        .map(str::len)
                })
                .unwrap_or(0);
            let body = len.to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn default_limit_passes_a_large_registry_config_and_refuses_more() {
    let pki = Pki::new();
    let engine = measuring_engine();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let admin = pki.client("admin");

    let reply = request(gw.addr, &pki, &admin, with_header(100_000)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        "100000",
        "the header reached the engine intact"
    );

    let before = engine.connections();
    let reply = request(gw.addr, &pki, &admin, with_header(140_000)).await;
    assert_eq!(reply.status, 431);
    assert_eq!(
        engine.connections(),
        before,
        "an oversized head reached the engine"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_limit_is_applied() {
    let pki = Pki::new();
    let engine = measuring_engine();
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!("[limits]\nmax_header_bytes = 16384\n\n{RULES}"),
    )
    .await;
    let admin = pki.client("admin");
    assert_eq!(
        request(gw.addr, &pki, &admin, with_header(8_000))
            .await
            .status,
        200
    );
    assert_eq!(
        request(gw.addr, &pki, &admin, with_header(20_000))
            .await
            .status,
        431
    );
}

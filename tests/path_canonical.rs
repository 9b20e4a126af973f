//! Non-canonical request paths are refused with a Docker-style 400 before any policy decision
//! and never reach the engine; percent-encoding cannot dodge a rule (the engine routes on the
//! decoded path); query strings reach the engine byte for byte.

mod common;

use common::client::{connect, get, read_to_close, request};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread")]
async fn non_canonical_paths_get_400_and_never_reach_the_engine() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let admin = pki.client("admin");
    for path in [
        "/containers/../images/json",
        "/v1.41/containers/./json",
        "/containers//json",
        "/containers/json/",
        "/containers/x%2Fy/json",
        "/containers/x%2fy/json",
        "/containers/%2e%2e/json",
        "/containers/%2E/json",
        "/containers/x%25/json",
        "/containers/x%zz/json",
        "/containers/x%/json",
        "/containers/x%00/json",
        "/containers/x%0a/json",
        "/containers/x%ff/json",
    ] {
        let reply = request(gw.addr, &pki, &admin, get(path)).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert_eq!(
            reply.headers["content-type"], "application/json",
            "{path}: Docker-style error"
        );
        assert!(
            reply.message().contains("path"),
            "{path}: {}",
            reply.message()
        );
    }
    assert_eq!(
        engine.connections(),
        0,
        "a non-canonical path reached the engine"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn percent_encoding_does_not_dodge_read_only_rules() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let reader = pki.client("reader");
    for path in [
        "/containers/x/expor%74",
        "/v1.41/containers/x/%61rchive",
        "/images/%67et",
        "/images/busybox/ge%74",
    ] {
        let reply = request(gw.addr, &pki, &reader, get(path)).await;
        assert_eq!(reply.status, 403, "{path}");
    }
    // An encoded byte in a name is fine where the route allows it.
    let reply = request(gw.addr, &pki, &reader, get("/containers/my%2Dapp/json")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(engine.connections(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn query_strings_reach_the_engine_byte_for_byte() {
    let pki = Pki::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let engine = FakeEngine::start(move |mut s| {
        let tx = tx.clone();
        async move {
            if let Some(head) = read_head(&mut s).await {
                let _ = tx.send(head.lines().next().unwrap_or("").to_string());
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]")
                    .await;
            }
        }
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let target = "/v1.41/images/json?filters=%7B%22reference%22%3A%7B%22busybox%3Alatest%22%3Atrue%7D%7D&all=1&x=a%2Fb+c%26d";
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let (bytes, _) = read_to_close(&mut tls).await;
    assert!(bytes.starts_with(b"HTTP/1.1 200"));
    assert_eq!(
        rx.recv().await.expect("request line"),
        format!("GET {target} HTTP/1.1")
    );
}

//! Keep-alive: many requests on one client connection are each decided by policy, and share one
//! engine connection instead of opening one per request.

mod common;

use bytes::Bytes;
use common::client::connect;
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

#[tokio::test(flavor = "multi_thread")]
async fn requests_on_one_connection_share_one_engine_connection_and_are_each_checked() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let tls = connect(gw.addr, &pki, &pki.client("reader")).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    for i in 0..50 {
        let (method, want) = if i % 10 == 9 {
            ("POST", 403)
        } else {
            ("GET", 200)
        };
        let req = http::Request::builder()
            .method(method)
            .uri("/v1.41/containers/json")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .expect("request");
        sender.ready().await.expect("ready");
        let resp = sender.send_request(req).await.expect("response");
        assert_eq!(resp.status().as_u16(), want, "request {i}");
        resp.into_body().collect().await.expect("body");
    }
    assert_eq!(
        engine.connections(),
        1,
        "engine connections for 45 forwarded requests"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_closing_its_side_between_requests_fails_nobody() {
    use common::fake::read_head;
    use tokio::io::AsyncWriteExt;

    let pki = Pki::new();
    // Answers one request per connection, then hangs up (as an engine restarting would).
    let engine = FakeEngine::start(|mut s| async move {
        if read_head(&mut s).await.is_some() {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
        }
    });
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    for i in 0..5 {
        sender.ready().await.expect("ready");
        let resp = sender
            .send_request(common::client::get("/v1.41/version"))
            .await
            .expect("response");
        assert_eq!(resp.status().as_u16(), 200, "request {i}");
        resp.into_body().collect().await.expect("body");
    }
    assert_eq!(engine.connections(), 5);
}

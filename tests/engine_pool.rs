//! Engine connections are pooled across client connections: clients that each open a fresh
//! connection per request (CI runners) reuse the same few engine connections, and clients that
//! sit idle between requests hold none, so idle clients cost one descriptor each, not two.

mod common;

use std::time::Duration;

use common::client::{connect, get, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_per_request_reuses_engine_connections() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let reader = pki.client("reader");
    for i in 0..30 {
        let reply = request(gw.addr, &pki, &reader, get("/v1.41/containers/json")).await;
        assert_eq!(reply.status, 200, "request {i}");
    }
    assert_eq!(
        engine.connections(),
        1,
        "30 client connections, one after another, share one engine connection"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_clients_hold_no_engine_connection() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let reader = pki.client("reader");
    // 40 clients, each with one finished request and its connection kept open, idle.
    let mut held = Vec::new();
    for i in 0..40 {
        let tls = connect(gw.addr, &pki, &reader).await;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let resp = sender
            .send_request(get("/v1.41/containers/json"))
            .await
            .expect("response");
        assert_eq!(resp.status(), 200, "client {i}");
        resp.into_body().collect().await.expect("body");
        held.push(sender);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        engine.connections(),
        1,
        "idle clients gave their engine connection back, and the next one took it"
    );
    // They are all still served, over the same engine connection.
    for (i, sender) in held.iter_mut().enumerate() {
        sender.ready().await.expect("ready");
        let resp = sender
            .send_request(get("/v1.41/containers/json"))
            .await
            .expect("response");
        assert_eq!(resp.status(), 200, "client {i} again");
        resp.into_body().collect().await.expect("body");
    }
    assert_eq!(engine.connections(), 1);
}

//! `read-only` against the engine's route table, through the gateway in front of a recording fake
//! engine: every route on the read-only list reaches the engine, versioned and not, and gets the
//! engine's answer; every other route (the swarm's join tokens, configs, registry lookups, debug
//! profiles, hijacks with or without `Upgrade`, copies out, every change) gets a Docker-style 403,
//! and the recording proves that none of those requests' bytes reached the engine.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::client::{request, Reply};
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use dockgate::policy::{path, read_only, routes};
use http::Method;
use http_body_util::Full;
use hyper::Request;
use tokio::io::AsyncWriteExt;

/// One concrete request per read-only route, written out by hand (not derived from the table),
/// plus paths that look like something else but are harmless in moby's router.
const ALLOWED: &[(&str, &str)] = &[
    ("HEAD", "/_ping"),
    ("GET", "/_ping"),
    ("GET", "/version"),
    ("GET", "/info"),
    ("GET", "/events"),
    ("GET", "/system/df"),
    ("GET", "/containers/json"),
    ("GET", "/containers/web/json"),
    ("GET", "/containers/web/logs"),
    ("GET", "/containers/web/stats"),
    ("GET", "/containers/web/top"),
    ("GET", "/containers/web/changes"),
    ("GET", "/exec/3f2a/json"),
    ("GET", "/images/json"),
    ("GET", "/images/busybox/json"),
    ("GET", "/images/registry:5000/team/app/json"),
    ("GET", "/images/busybox/history"),
    ("GET", "/networks"),
    ("GET", "/networks/bridge"),
    ("GET", "/volumes"),
    ("GET", "/volumes/data"),
    ("GET", "/nodes"),
    ("GET", "/nodes/n1"),
    ("GET", "/services"),
    ("GET", "/services/s1"),
    ("GET", "/services/s1/logs"),
    ("GET", "/tasks"),
    ("GET", "/tasks/t1"),
    ("GET", "/tasks/t1/logs"),
    // Inspect of a container named "x/export", of an image named "get", of a network "a/b".
    ("GET", "/containers/x/export/json"),
    ("GET", "/images/get/json"),
    ("GET", "/networks/a/b"),
];

/// Requests the issue names, written out by hand; every other route of the table is added.
const DENIED: &[(&str, &str)] = &[
    ("GET", "/swarm"),
    ("GET", "/swarm/unlockkey"),
    ("GET", "/configs"),
    ("GET", "/configs/c1"),
    ("GET", "/secrets"),
    ("GET", "/secrets/s1"),
    ("GET", "/distribution/registry:5000/x/json"),
    ("GET", "/images/search?term=127.0.0.1:22/x"),
    ("GET", "/plugins/privileges?remote=127.0.0.1:22/x"),
    ("GET", "/plugins"),
    ("GET", "/plugins/p1/json"),
    ("GET", "/debug/vars"),
    ("GET", "/debug/pprof/cmdline"),
    ("GET", "/debug/pprof/heap"),
    ("GET", "/containers/web/attach/ws"),
    ("GET", "/containers/web/export"),
    ("GET", "/containers/x/json/export"),
    ("GET", "/containers/web/archive?path=/etc"),
    ("HEAD", "/containers/web/archive?path=/etc"),
    ("GET", "/images/get"),
    ("GET", "/images/busybox/get"),
    ("GET", "/images/busybox/attestations"),
    ("GET", "/containers/web/checkpoints"),
    ("POST", "/containers/web/attach?stream=1&stdout=1"),
    ("POST", "/exec/3f2a/start"),
    ("POST", "/containers/web/stop"),
    ("DELETE", "/containers/web"),
    ("OPTIONS", "/containers/json"),
    // Not moby routes (moby answers 404): methods are exact, `{id}` is one segment.
    ("HEAD", "/containers/json"),
    ("HEAD", "/version"),
    ("GET", "/services/a/b"),
    ("GET", "/containers/web"),
];

/// Extra request headers.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// Every request head the engine received, in order.
type Heads = Arc<Mutex<Vec<String>>>;

/// The fake engine's body, so that the reader can tell the engine's answer from the gateway's.
const ANSWER: &str = "{\"engine\":\"answer\"}";

/// A fake engine that records every request head it receives and answers each with a marked 200.
fn recording_engine() -> (FakeEngine, Heads) {
    let heads: Heads = Arc::default();
    let sink = heads.clone();
    let engine = FakeEngine::start(move |mut s| {
        let sink = sink.clone();
        async move {
            while let Some(head) = read_head(&mut s).await {
                let is_head = head.starts_with("HEAD ");
                sink.lock().expect("heads").push(head);
                // A HEAD answer announces the GET's length and sends no body.
                let body = if is_head { "" } else { ANSWER };
                let length = ANSWER.len();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Fake-Engine: yes\r\nContent-Length: {length}\r\n\r\n{body}"
                );
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    });
    (engine, heads)
}

fn build(method: &str, target: &str, headers: Headers, body: &str) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .header("host", "localhost");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

/// `target` bare and as the CLI sends it.
fn both_forms(target: &str) -> [String; 2] {
    [target.to_string(), format!("/v1.51{target}")]
}

/// A 403 from the gateway; `what` starts with the method.
fn assert_denied(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.text());
    assert_eq!(
        reply.headers["content-type"], "application/json",
        "{what}: Docker-style error"
    );
    assert!(reply.headers.get("x-fake-engine").is_none(), "{what}");
    if what.starts_with("HEAD ") {
        // No body in an answer to HEAD.
        return;
    }
    assert!(
        reply.message().starts_with("dockgate: access denied: "),
        "{what}: {}",
        reply.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_reaches_exactly_the_routes_on_its_list() {
    let pki = Pki::new();
    let (engine, heads) = recording_engine();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let reader = pki.client("reader");

    // The hand-written list covers the whole read-only list.
    let mut covered: Vec<&str> = Vec::new();
    for (method, target) in ALLOWED {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        if let Some(route) = routes::dispatch(&method, target) {
            covered.push(route.name);
        }
    }
    for (name, _) in read_only::ALLOWED {
        assert!(covered.contains(name), "no request above exercises {name}");
    }

    for (method, target) in ALLOWED {
        for target in both_forms(target) {
            let what = format!("{method} {target}");
            let reply = request(gw.addr, &pki, &reader, build(method, &target, &[], "")).await;
            assert_eq!(reply.status, 200, "{what}: {}", reply.text());
            assert_eq!(reply.headers["x-fake-engine"], "yes", "{what}");
            if *method != "HEAD" {
                assert_eq!(reply.text(), ANSWER, "{what}");
            }
            let last = heads.lock().expect("heads").last().cloned();
            let line = last.as_deref().and_then(|h| h.lines().next());
            assert_eq!(line, Some(format!("{what} HTTP/1.1").as_str()));
        }
    }

    let seen_heads = heads.lock().expect("heads").len();
    let seen_connections = engine.connections();
    assert_eq!(seen_heads, 2 * ALLOWED.len());

    let mut denied: Vec<(String, String)> = DENIED
        .iter()
        .map(|(m, t)| (m.to_string(), t.to_string()))
        .collect();
    for route in routes::ROUTES {
        if read_only::ALLOWED.iter().any(|(n, _)| *n == route.name) {
            continue;
        }
        denied.push((route.method.to_string(), route.example_path()));
    }
    for (method, target) in &denied {
        for target in both_forms(target) {
            let what = format!("{method} {target}");
            let reply = request(gw.addr, &pki, &reader, build(method, &target, &[], "")).await;
            let path = target.split('?').next().expect("path");
            if path::canonical(path).is_err() {
                // `/networks/`, `/debug/pprof/`: a trailing `/` is refused before policy.
                assert_eq!(reply.status, 400, "{what}: {}", reply.text());
            } else {
                assert_denied(&reply, &what);
            }
        }
    }

    // Hijacks are refused with or without `Upgrade`, and so is any upgrade.
    let hijacks: &[(&str, &str, Headers)] = &[
        ("GET", "/containers/web/attach/ws", &[]),
        (
            "GET",
            "/containers/web/attach/ws?stream=1&stdin=1",
            &[
                ("connection", "Upgrade"),
                ("upgrade", "websocket"),
                ("sec-websocket-version", "13"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
        ),
        (
            "POST",
            "/exec/3f2a/start",
            &[("content-type", "application/json")],
        ),
        (
            "POST",
            "/exec/3f2a/start",
            &[("connection", "Upgrade"), ("upgrade", "tcp")],
        ),
        (
            "POST",
            "/containers/web/attach?stream=1&stdin=1",
            &[("connection", "Upgrade"), ("upgrade", "tcp")],
        ),
        (
            "GET",
            "/containers/json",
            &[("connection", "Upgrade"), ("upgrade", "tcp")],
        ),
        (
            "GET",
            "/_ping",
            &[("connection", "Upgrade"), ("upgrade", "h2c")],
        ),
    ];
    for (method, target, headers) in hijacks {
        for target in both_forms(target) {
            let what = format!("{method} {target} {headers:?}");
            let reply = request(gw.addr, &pki, &reader, build(method, &target, headers, "")).await;
            assert_denied(&reply, &what);
        }
    }

    // A denied request with a body: neither its head nor its body reaches the engine.
    let body = r#"{"Image":"busybox","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}"#;
    for target in both_forms("/containers/create") {
        let req = build(
            "POST",
            &target,
            &[("content-type", "application/json")],
            body,
        );
        assert_denied(
            &request(gw.addr, &pki, &reader, req).await,
            &format!("POST {target}"),
        );
    }
    let req = build("PUT", "/containers/web/archive?path=/", &[], "tar bytes");
    assert_denied(&request(gw.addr, &pki, &reader, req).await, "PUT archive");

    assert_eq!(
        heads.lock().expect("heads")[seen_heads..],
        [] as [String; 0],
        "a denied request reached the engine"
    );
    assert_eq!(
        engine.connections(),
        seen_connections,
        "a denied request opened an engine connection"
    );
}

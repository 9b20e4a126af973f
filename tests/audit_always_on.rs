//! The audit trail cannot be switched off and is on record while a stream runs:
//! - with `log.level = "error"`, and with `RUST_LOG=warn`, every request still writes its audit
//!   event (and nothing at info level but the audit events reaches the log);
//! - a hijacked stream writes a `start` event at the `101`, while it is still open, and an `end`
//!   event when it closes; a streamed response likewise at its head;
//! - the audit path is the percent-decoded one (the raw one beside it when they differ), and the
//!   query string is recorded with credential-carrying values redacted.

mod common;

use std::time::Duration;

use common::client::connect;
use common::fake::{echo_upgrade, read_head, FakeEngine};
use common::gateway::{free_addr, listen_at, write_config, Process, RULES};
use common::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An engine that hijacks `/attach` requests (echoing until the client is done), streams
/// `/events` (one chunk, then silence until the client leaves), and answers 200 to the rest.
fn engine() -> FakeEngine {
    FakeEngine::start(|mut s| async move {
        while let Some(head) = read_head(&mut s).await {
            if head.contains("/attach") {
                echo_upgrade(&mut s).await;
                return;
            }
            if head.contains("/events") {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n")
                    .await;
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
                return;
            }
            let body = "{}";
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
}

fn quiet_config(pki: &Pki, engine: &FakeEngine) -> std::path::PathBuf {
    let path = write_config(pki, &engine.socket, RULES);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("level = \"info\""));
    std::fs::write(&path, text.replace("level = \"info\"", "level = \"error\"")).expect("write");
    path
}

async fn send(gw: &Process, pki: &Pki, head: &str) -> common::client::Tls {
    let mut tls = connect(gw.addr, pki, &pki.client("admin")).await;
    tls.write_all(head.as_bytes()).await.expect("write");
    tls
}

async fn read_some(tls: &mut common::client::Tls) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tls.read(&mut buf).await.expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn events(gw: &Process, path_end: &str) -> Vec<serde_json::Value> {
    gw.audit()
        .into_iter()
        .filter(|v| v["path"].as_str().is_some_and(|p| p.ends_with(path_end)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_events_survive_log_level_error_and_streams_have_start_events() {
    let pki = Pki::new();
    let engine = engine();
    let config = quiet_config(&pki, &engine);
    let addr = free_addr();
    listen_at(&config, addr);
    let gw = tokio::task::block_in_place(|| Process::spawn_at(&config, addr, &[]));

    // A request with an encoded path and a query that carries a build argument.
    let mut tls = send(
        &gw,
        &pki,
        "GET /v1.41/containers/x/j%73on?size=1&buildargs=%7B%22TOKEN%22%3A%22s3cret%22%7D HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    assert!(read_some(&mut tls).await.starts_with("HTTP/1.1 200"));
    let plain = common::wait::until(Duration::from_secs(10), || {
        events(&gw, "/json")
            .into_iter()
            .find(|v| v["event"] == "end")
    })
    .expect("an audit event at log.level = error");
    assert_eq!(plain["path"], "/v1.41/containers/x/json");
    assert_eq!(plain["raw_path"], "/v1.41/containers/x/j%73on");
    assert_eq!(plain["query"], "size=1&buildargs=REDACTED");
    assert!(!gw.logs().join("\n").contains("s3cret"));

    // A hijacked stream: `start` while it is open, `end` after.
    let mut hijack = send(
        &gw,
        &pki,
        "POST /containers/x/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    )
    .await;
    assert!(read_some(&mut hijack).await.starts_with("HTTP/1.1 101"));
    hijack.write_all(b"ping").await.expect("write");
    assert_eq!(read_some(&mut hijack).await, "ping");
    let start = common::wait::until(Duration::from_secs(10), || {
        events(&gw, "/attach")
            .into_iter()
            .find(|v| v["event"] == "start")
    })
    .expect("a start event while the hijacked stream is open");
    assert_eq!(start["upgraded"], true);
    assert_eq!(start["status"], 101);
    assert!(events(&gw, "/attach").iter().all(|v| v["event"] != "end"));
    drop(hijack);
    let end = common::wait::until(Duration::from_secs(10), || {
        events(&gw, "/attach")
            .into_iter()
            .find(|v| v["event"] == "end")
    })
    .expect("an end event once the stream closed");
    assert_eq!(end["bytes_in"], 4);

    // A streamed response: `start` at its head.
    let mut stream = send(&gw, &pki, "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(read_some(&mut stream).await.starts_with("HTTP/1.1 200"));
    let start = common::wait::until(Duration::from_secs(10), || {
        events(&gw, "/events")
            .into_iter()
            .find(|v| v["event"] == "start")
    })
    .expect("a start event while the events stream is open");
    assert_eq!(start["status"], 200);
    drop(stream);

    // Nothing but audit events passed the `error` level.
    let non_audit_info: Vec<_> = gw
        .json_logs()
        .into_iter()
        .filter(|v| v["target"] != "dockgate::audit" && v["level"] == "INFO")
        .collect();
    assert!(non_audit_info.is_empty(), "{non_audit_info:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_warn_keeps_the_audit_trail() {
    let pki = Pki::new();
    let engine = engine();
    let config = write_config(&pki, &engine.socket, RULES);
    let addr = free_addr();
    listen_at(&config, addr);
    let gw =
        tokio::task::block_in_place(|| Process::spawn_at(&config, addr, &[("RUST_LOG", "warn")]));
    let mut tls = send(
        &gw,
        &pki,
        "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    assert!(read_some(&mut tls).await.starts_with("HTTP/1.1 200"));
    let seen = common::wait::until(Duration::from_secs(10), || {
        events(&gw, "/version").into_iter().next()
    });
    assert!(seen.is_some(), "RUST_LOG=warn switched the audit trail off");
}

//! hyper's own refusals are logged with the status they got: a request target over hyper's fixed
//! limit (65534 bytes) is answered `414 URI Too Long` and logged as 414, not as the 431 of a head
//! over the parser's cap (twice `limits.max_header_bytes`), which is logged as 431.

mod common;

use std::time::Duration;

use common::client::{connect, read_to_close};
use common::fake::FakeEngine;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;

/// Sends `head` on a fresh verified connection and returns what came back until the close.
async fn send_raw(gw: &Process, pki: &Pki, head: String) -> String {
    let mut tls = connect(gw.addr, pki, &pki.client("admin")).await;
    // The gateway may stop reading before the end of an oversized head; what matters is its log.
    let _ = tls.write_all(head.as_bytes()).await;
    let (bytes, _) = read_to_close(&mut tls).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

fn parse_refusals(gw: &Process) -> Vec<String> {
    gw.json_logs()
        .into_iter()
        .filter_map(|v| v["message"].as_str().map(str::to_string))
        .filter(|m| m.contains("answered 4"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_70_kib_uri_is_logged_as_414_and_a_huge_head_as_431() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, RULES));

    let uri = format!("/_ping?{}", "a".repeat(70 * 1024));
    let answer = send_raw(
        &gw,
        &pki,
        format!("GET {uri} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer:.80}");
    let logged = tokio::task::block_in_place(|| {
        gw.wait_log(Duration::from_secs(20), |v| {
            v["message"].as_str().unwrap_or("").contains("answered 414")
        })
    })
    .unwrap_or_else(|| panic!("no 414 in the log: {:?}", parse_refusals(&gw)));
    let message = logged["message"].as_str().unwrap_or("");
    assert!(message.contains("URI"), "{message}");
    assert_eq!(parse_refusals(&gw).len(), 1, "{:?}", parse_refusals(&gw));

    // 300 KB of header: over the parser's cap (2 × 131072 bytes), so hyper answers 431 itself.
    send_raw(
        &gw,
        &pki,
        format!(
            "GET /_ping HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
            "b".repeat(300_000)
        ),
    )
    .await;
    tokio::task::block_in_place(|| {
        gw.wait_log(Duration::from_secs(20), |v| {
            v["message"].as_str().unwrap_or("").contains("answered 431")
        })
    })
    .unwrap_or_else(|| panic!("no 431 in the log: {:?}", parse_refusals(&gw)));
    let refusals = parse_refusals(&gw);
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert_eq!(
        refusals
            .iter()
            .filter(|m| m.contains("answered 414"))
            .count(),
        1,
        "{refusals:?}"
    );
    assert_eq!(engine.connections(), 0, "a refused head reached the engine");
}

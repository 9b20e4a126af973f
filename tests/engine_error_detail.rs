//! A 502 tells the client only that the engine is unreachable and at which step (connecting, or
//! the request), in one Docker-style sentence: never the engine's socket path or the OS error,
//! which any verified client would otherwise learn. The gateway's log has the whole cause, each
//! part once, in one warning per failed request.

mod common;

use std::time::Duration;

use common::client::{get, request};
use common::fake::{read_head, FakeEngine};
use common::gateway::{Process, RULES};
use common::pki::Pki;

const MESSAGE: &str = "the Docker Engine is unreachable; answered 502";

/// Requests `/_ping` and checks the 502's message; returns the log warnings written for it.
/// Expects a 502 with exactly `message` and neither the socket path nor an OS error; returns the
/// one warning logged for it (its `error` field), which names the socket once.
async fn expect_502(gw: &Process, pki: &Pki, socket: &str, message: &str) -> String {
    let reply = request(gw.addr, pki, &pki.client("admin"), get("/_ping")).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.message(), message);
    let body = reply.text();
    assert!(
        !body.contains(socket),
        "the socket path reached the client: {body}"
    );
    assert!(
        !body.contains("os error"),
        "an OS error reached the client: {body}"
    );
    tokio::task::block_in_place(|| {
        gw.wait_log(Duration::from_secs(20), |v| v["message"] == MESSAGE)
            .unwrap_or_else(|| panic!("no warning in the log: {:?}", gw.logs()));
    });
    let logged: Vec<String> = gw
        .json_logs()
        .into_iter()
        .filter(|v| v["message"] == MESSAGE)
        .map(|v| {
            assert_eq!(v["level"], "WARN", "{v}");
            v["error"].as_str().expect("error field").to_string()
        })
        .collect();
    assert_eq!(
        logged.len(),
        1,
        "one warning per failed request: {logged:?}"
    );
    let cause = logged[0].clone();
    assert_eq!(cause.matches(socket).count(), 1, "{cause}");
    cause
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_failure_names_the_step_and_logs_the_cause() {
    let pki = Pki::new();
    let missing = pki.path().join("no-engine.sock");
    let socket = missing.display().to_string();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &missing, RULES));

    let cause = expect_502(
        &gw,
        &pki,
        &socket,
        "dockgate: the Docker Engine is unreachable: cannot connect to it",
    )
    .await;
    assert_eq!(
        cause.matches("No such file or directory").count(),
        1,
        "{cause}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_request_names_the_step_and_logs_the_cause() {
    // An engine that reads the request and hangs up without answering.
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
    });
    let socket = engine.socket.display().to_string();
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, RULES));

    let cause = expect_502(
        &gw,
        &pki,
        &socket,
        "dockgate: the Docker Engine is unreachable: the request to it failed",
    )
    .await;
    assert!(cause.contains("did not answer the request"), "{cause}");
}

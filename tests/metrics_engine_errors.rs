//! `dockgate_engine_errors_total{kind}` names what went wrong with the engine: a socket file
//! nobody listens on is `connect_refused`, a missing one `socket_missing`, and an engine that
//! dies in the middle of a response `died_mid_response` — each counted once per request.

mod common;

use std::os::unix::net::UnixListener;

use common::cli::{curl, status_of};
use common::fake::{read_head, FakeEngine};
use common::gateway::{free_addr, Process, RULES};
use common::metrics::scrape;
use common::pki::Pki;
use tokio::io::AsyncWriteExt;

fn metrics_config(addr: std::net::SocketAddr) -> String {
    format!("[metrics]\naddress = \"{addr}\"\n\n{RULES}")
}

fn get(pki: &Pki, gw: &Process, path: &str) -> String {
    status_of(&pki.client("admin"), &gw.url(path))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_engine_failure_is_counted_under_its_kind() {
    let pki = Pki::new();

    // A socket file left behind by an engine that is gone: connection refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join("docker.sock");
    drop(UnixListener::bind(&stale).expect("bind"));
    let addr = free_addr();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &stale, &metrics_config(addr)));
    for _ in 0..3 {
        assert_eq!(get(&pki, &gw, "/_ping"), "502");
    }
    std::fs::remove_file(&stale).expect("remove");
    assert_eq!(get(&pki, &gw, "/_ping"), "502");
    let s = scrape(addr);
    assert_eq!(
        s.sum(
            "dockgate_engine_errors_total",
            &[("kind", "connect_refused")]
        ),
        3.0,
        "{}",
        s.text
    );
    assert_eq!(
        s.sum(
            "dockgate_engine_errors_total",
            &[("kind", "socket_missing")]
        ),
        1.0
    );
    assert_eq!(s.sum("dockgate_engine_errors_total", &[]), 4.0);
    assert_eq!(s.sum("dockgate_engine_up", &[]), 0.0);
    drop(gw);

    // An engine that sends part of a chunked body, then dies.
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
    });
    let addr = free_addr();
    let gw =
        tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, &metrics_config(addr)));
    for _ in 0..2 {
        let out = curl(&pki.client("admin"))
            .arg(gw.url("/containers/x/export"))
            .output()
            .expect("curl");
        assert!(!out.status.success(), "curl saw a clean end");
    }
    let counted = common::wait::until_async(std::time::Duration::from_secs(10), || async {
        let s = scrape(addr);
        (s.sum(
            "dockgate_engine_errors_total",
            &[("kind", "died_mid_response")],
        ) >= 2.0)
            .then_some(s)
    })
    .await
    .expect("died_mid_response counted");
    assert_eq!(
        counted.sum("dockgate_engine_errors_total", &[]),
        2.0,
        "{}",
        counted.text
    );
}

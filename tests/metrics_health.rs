//! `/health` and `dockgate_engine_up` follow the real engine: 200 while it answers, 503 with a
//! one-line reason while it is stopped (even with no client traffic), 200 again once it is back;
//! requests refused meanwhile count exactly under `dockgate_engine_errors_total{kind="socket_missing"}`,
//! and the probes of scrapes and health checks add nothing there.

mod common;

use std::time::Duration;

use common::cli::status_of;
use common::engine::PrivateEngine;
use common::gateway::{free_addr, Process, RULES};
use common::metrics::{health, scrape};
use common::pki::Pki;
use common::wait;

#[test]
fn health_follows_the_engine_and_engine_errors_count_exactly() {
    let dir = tempfile::Builder::new()
        .prefix("dockgate-health")
        .tempdir()
        .expect("tempdir");
    let mut engine = PrivateEngine::new(dir.path());
    engine.start();
    let pki = Pki::new();
    let metrics_addr = free_addr();
    let gw = Process::start(
        &pki,
        &engine.socket,
        &format!("[metrics]\naddress = \"{metrics_addr}\"\n\n{RULES}"),
    );
    let (code, body) = health(metrics_addr);
    assert_eq!(
        (code, body.as_str()),
        (200, "ok: serving, the engine answers\n")
    );
    assert_eq!(scrape(metrics_addr).sum("dockgate_engine_up", &[]), 1.0);

    engine.stop();
    // No client request: the health check itself finds out (a probe result is reused for 1 s).
    let (code, body) = wait::until(Duration::from_secs(10), || {
        let (code, body) = health(metrics_addr);
        (code == 503).then_some((code, body))
    })
    .unwrap_or_else(|| panic!("/health stayed {:?}", health(metrics_addr)));
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("engine unreachable: "), "{body}");
    assert_eq!(body.lines().count(), 1, "one line: {body:?}");
    let s = scrape(metrics_addr);
    assert_eq!(s.sum("dockgate_engine_up", &[]), 0.0);
    assert_eq!(
        s.sum("dockgate_engine_errors_total", &[]),
        0.0,
        "probes are not requests"
    );

    for _ in 0..2 {
        assert_eq!(
            status_of(&pki.client("admin"), &gw.url("/v1.41/version")),
            "502"
        );
    }
    let s = scrape(metrics_addr);
    assert_eq!(
        s.sum(
            "dockgate_engine_errors_total",
            &[("kind", "socket_missing")]
        ),
        2.0,
        "{}",
        s.text
    );
    assert_eq!(s.sum("dockgate_engine_errors_total", &[]), 2.0);
    assert_eq!(
        s.sum(
            "dockgate_requests_total",
            &[
                ("identity", "admin"),
                ("route", "/version"),
                ("code", "502")
            ]
        ),
        2.0
    );

    engine.start();
    let back = wait::until(Duration::from_secs(20), || {
        (health(metrics_addr).0 == 200).then_some(())
    });
    assert!(
        back.is_some(),
        "/health did not come back: {:?}",
        health(metrics_addr)
    );
    let s = scrape(metrics_addr);
    assert_eq!(s.sum("dockgate_engine_up", &[]), 1.0);
    assert_eq!(s.sum("dockgate_engine_errors_total", &[]), 2.0);
    assert_eq!(
        status_of(&pki.client("admin"), &gw.url("/v1.41/version")),
        "200"
    );

    // The metrics listener answers only GET and HEAD on its two paths.
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{metrics_addr}/other"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    let out = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{metrics_addr}/metrics"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "405");
    drop(gw);
}

//! The open-stream gauges follow real streams through the docker CLI: `docker logs -f` counts in
//! `dockgate_streams_open` while it runs, `docker exec -i` in `dockgate_upgraded_streams_open`
//! (its hijacked connection) while its stdin is open, and both go back to 0 when they end;
//! `dockgate_connections_open` counts the connections they hold.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::cli::{expect_line, Docker};
use common::gateway::{free_addr, Process, RULES};
use common::metrics::scrape;
use common::pki::Pki;
use common::{engine_socket, test_image, unique, wait};

fn gauge(addr: std::net::SocketAddr, name: &str) -> f64 {
    scrape(addr).sum(name, &[])
}

fn wait_gauge(addr: std::net::SocketAddr, name: &str, want: f64) {
    let got = wait::until(Duration::from_secs(20), || {
        (gauge(addr, name) == want).then_some(())
    });
    assert!(
        got.is_some(),
        "{name} stayed {} (want {want})",
        gauge(addr, name)
    );
}

#[test]
fn stream_gauges_follow_logs_and_exec() {
    let pki = Pki::new();
    let addr = free_addr();
    let gw = Process::start(
        &pki,
        &engine_socket(),
        &format!("[metrics]\naddress = \"{addr}\"\n\n{RULES}"),
    );
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("metrics-streams");
    docker.start_sleeper(&test_image(), &name, "hello-metrics");
    assert_eq!(gauge(addr, "dockgate_streams_open"), 0.0);
    assert_eq!(gauge(addr, "dockgate_upgraded_streams_open"), 0.0);

    let (mut logs, lines) = docker.follow_logs(&name);
    expect_line(&lines, "hello-metrics");
    wait_gauge(addr, "dockgate_streams_open", 1.0);
    assert!(gauge(addr, "dockgate_connections_open") >= 1.0);
    assert_eq!(gauge(addr, "dockgate_upgraded_streams_open"), 0.0);

    let mut exec = docker
        .cmd(&["exec", "-i", &name, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("exec");
    let mut stdin = exec.stdin.take().expect("stdin");
    let out = common::cli::stdout_lines(&mut exec);
    stdin.write_all(b"through-the-hijack\n").expect("write");
    expect_line(&out, "through-the-hijack");
    wait_gauge(addr, "dockgate_upgraded_streams_open", 1.0);
    assert_eq!(gauge(addr, "dockgate_streams_open"), 1.0);

    drop(stdin);
    let done = wait::until(Duration::from_secs(30), || exec.try_wait().ok().flatten());
    assert!(done.is_some_and(|s| s.success()), "exec did not end");
    wait_gauge(addr, "dockgate_upgraded_streams_open", 0.0);

    // `timeout` (around the CLI) passes SIGTERM on to docker.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &logs.id().to_string()])
        .status();
    let _ = logs.wait();
    wait_gauge(addr, "dockgate_streams_open", 0.0);
    docker.ok(&["rm", "-f", &name]);
    // The exec's requests (create, start, inspect) and the logs stream are counted once each.
    let s = scrape(addr);
    assert_eq!(
        s.sum(
            "dockgate_requests_total",
            &[("route", "/exec/{id}/start"), ("code", "101")]
        ),
        1.0,
        "{}",
        s.text
    );
    assert_eq!(
        s.sum(
            "dockgate_requests_total",
            &[("route", "/containers/{id}/logs"), ("code", "200")]
        ),
        1.0
    );
    // Streams and hijacks have no duration in the histogram (they last as long as they last).
    assert_eq!(
        s.sum(
            "dockgate_request_duration_seconds_count",
            &[("route", "/containers/{id}/logs")]
        ),
        0.0
    );
    assert_eq!(
        s.sum(
            "dockgate_request_duration_seconds_count",
            &[("route", "/exec/{id}/start")]
        ),
        0.0
    );
}

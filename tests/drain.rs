//! SIGTERM drains politely: new connections are refused at once; a request in flight finishes;
//! an open `docker logs -f` and an attached `docker run -i` keep working for `shutdown.grace`,
//! then are closed and the process exits (within grace + 2 s) with status 3 because it
//! had to cut them. With nothing open it exits 0 at once; a second signal exits at once.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::cli::{docker_direct, stdout_lines, Docker};
use common::fake::{read_head, FakeEngine};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};
use tokio::io::AsyncWriteExt;

const GRACE: Duration = Duration::from_secs(3);

fn next(rx: &Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(30)).expect("a line")
}

fn refused_soon(addr: std::net::SocketAddr) -> bool {
    common::wait::until(Duration::from_secs(5), || {
        TcpStream::connect(addr).is_err().then_some(())
    })
    .is_some()
}

#[test]
fn streams_get_the_grace_period_then_are_cut() {
    let pki = Pki::new();
    let extra = format!("[shutdown]\ngrace = \"{}s\"\n\n{RULES}", GRACE.as_secs());
    let mut gw = Process::start(&pki, &engine_socket(), &extra);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let image = test_image();
    let name = unique("drain");
    docker.start_sleeper(&image, &name, "first");

    let (mut follow, follow_lines) = docker.follow_logs(&name);
    assert_eq!(next(&follow_lines), "first");

    let mut attached = docker
        .cmd(&["run", "-i", "--rm", &image, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run -i");
    let mut stdin = attached.stdin.take().expect("stdin");
    let attached_lines = stdout_lines(&mut attached);
    writeln!(stdin, "before").expect("write");
    assert_eq!(next(&attached_lines), "before");

    let signalled = Instant::now();
    gw.signal("TERM");
    assert!(
        refused_soon(gw.addr),
        "new connections still accepted after SIGTERM"
    );

    // Still working inside the grace period.
    writeln!(stdin, "during").expect("write");
    assert_eq!(next(&attached_lines), "during");
    assert!(docker_direct(
        &engine_socket(),
        &["exec", &name, "sh", "-c", "echo second > /proc/1/fd/1"]
    )
    .status
    .success());
    assert_eq!(next(&follow_lines), "second");

    let status = gw
        .wait_exit(GRACE + Duration::from_secs(10))
        .expect("dockgate did not exit");
    let took = signalled.elapsed();
    assert!(took <= GRACE + Duration::from_secs(2), "exit took {took:?}");
    assert_eq!(
        status.code(),
        Some(3),
        "connections were cut, so the exit status says so: {status}"
    );
    assert!(gw
        .logs()
        .iter()
        .any(|l| l.contains("shutdown.grace is over")));

    // The clients see their streams end.
    assert!(
        common::wait::until(Duration::from_secs(20), || follow.try_wait().ok().flatten()).is_some(),
        "logs -f still running"
    );
    drop(stdin);
    let _ = attached.kill();
    let _ = attached.wait();
    docker_direct(&engine_socket(), &["rm", "-f", &name]);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_in_flight_finishes_and_exit_is_clean() {
    let pki = Pki::new();
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let engine = FakeEngine::start(move |mut s| {
        let mut release = release_rx.clone();
        async move {
            read_head(&mut s).await;
            let _ = release.wait_for(|r| *r).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
                .await;
        }
    });
    let mut gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, RULES));
    let admin = pki.client("admin");
    let url = gw.url("/v1.41/containers/json");
    let in_flight = tokio::task::spawn_blocking(move || {
        common::cli::curl(&admin)
            .args(["-w", " %{http_code}"])
            .arg(url)
            .output()
            .expect("curl")
    });
    common::wait::until_async(Duration::from_secs(20), || async {
        (engine.connections() > 0).then_some(())
    })
    .await
    .expect("request reached the engine");
    gw.signal("TERM");
    assert!(tokio::task::block_in_place(|| refused_soon(gw.addr)));
    release_tx.send_replace(true);
    let out = in_flight.await.expect("join");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "slow 200");
    let status =
        tokio::task::block_in_place(|| gw.wait_exit(Duration::from_secs(20))).expect("exit");
    assert!(status.success(), "everything drained, exit 0: {status}");
}

#[test]
fn second_signal_exits_at_once() {
    let pki = Pki::new();
    let mut gw = Process::start(
        &pki,
        &engine_socket(),
        &format!("[shutdown]\ngrace = \"60s\"\n\n{RULES}"),
    );
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("second");
    // Its arrival proves the stream is open (see `container_events`).
    let (mut events, event_lines) = docker.container_events(&name, "{{.Action}}");
    docker_direct(
        &engine_socket(),
        &["create", "--name", &name, &test_image(), "true"],
    );
    assert_eq!(next(&event_lines), "create");
    docker_direct(&engine_socket(), &["rm", "-f", &name]);
    gw.signal("TERM");
    assert!(refused_soon(gw.addr));
    let signalled = Instant::now();
    gw.signal("TERM");
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .expect("a second signal did not exit at once");
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(3), "{status}");
    let _ = events.kill();
    let _ = events.wait();
}

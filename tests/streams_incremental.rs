//! Streams are not buffered: `docker logs -f` shows a line the container writes after the stream
//! opened, and `docker events` shows events as they happen, while both commands keep running.

mod common;

use common::cli::{expect_line, Docker};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

#[test]
fn logs_follow_delivers_new_lines_while_running() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("logs");
    docker.start_sleeper(&test_image(), &name, "first");
    let (mut follow, rx) = docker.follow_logs(&name);
    expect_line(&rx, "first");
    // Written after `logs -f` has shown the first line: it can only arrive by streaming.
    docker.ok(&["exec", &name, "sh", "-c", "echo second > /proc/1/fd/1"]);
    expect_line(&rx, "second");
    assert!(
        follow.try_wait().expect("try_wait").is_none(),
        "logs -f ended early"
    );
    docker.ok(&["rm", "-f", &name]);
    let _ = follow.kill();
    let _ = follow.wait();
}

#[test]
fn events_arrive_as_they_happen() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("events");
    let (mut events, rx) = docker.container_events(&name, "{{.Action}} {{.Actor.Attributes.name}}");
    docker.ok(&["create", "--name", &name, &test_image(), "true"]);
    expect_line(&rx, &format!("create {name}"));
    // The stream is open and has delivered; what follows can only arrive live.
    docker.ok(&["start", &name]);
    expect_line(&rx, &format!("start {name}"));
    assert!(
        events.try_wait().expect("try_wait").is_none(),
        "docker events ended early"
    );
    docker.ok(&["rm", "-f", &name]);
    expect_line(&rx, &format!("destroy {name}"));
    let _ = events.kill();
    let _ = events.wait();
}

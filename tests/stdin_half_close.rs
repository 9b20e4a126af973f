//! stdin through a hijacked connection, with the real engine: `echo data | docker run -i --rm IMG
//! cat` returns `data` and exits (the client half-closes: docker 28 with close_notify, docker 20.10
//! with a bare FIN); `exec -i` likewise; and a container that exits while the client's stdin is
//! still open ends the client's command.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

fn run_with_stdin(docker: &Docker, args: &[&str], input: &[u8]) -> String {
    let mut child = docker
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn piped_stdin_reaches_the_container_and_the_command_exits() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let admin = pki.client("admin");
    let image = test_image();
    for docker in [
        Docker::new(&gw.docker_host(), &admin),
        Docker::legacy(&gw.docker_host(), &admin),
    ] {
        let out = run_with_stdin(&docker, &["run", "-i", "--rm", &image, "cat"], b"data\n");
        assert_eq!(out, "data\n", "{}", docker.program.display());
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let out = run_with_stdin(&docker, &["run", "-i", "--rm", &image, "wc", "-c"], &big);
        assert_eq!(
            out.trim(),
            big.len().to_string(),
            "{}",
            docker.program.display()
        );
    }
}

#[test]
fn exec_with_stdin() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("exec");
    docker.ok(&["run", "-d", "--name", &name, &test_image(), "sleep", "600"]);
    let out = run_with_stdin(&docker, &["exec", "-i", &name, "cat"], b"hello exec\n");
    let legacy = Docker::legacy(&gw.docker_host(), &pki.client("admin"));
    let out_legacy = run_with_stdin(&legacy, &["exec", "-i", &name, "cat"], b"hello legacy\n");
    docker.ok(&["rm", "-f", &name]);
    assert_eq!(out, "hello exec\n");
    assert_eq!(out_legacy, "hello legacy\n");
}

#[test]
fn container_exit_ends_the_command_while_stdin_is_open() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let mut child = docker
        .cmd(&["run", "-i", "--rm", &test_image(), "echo", "done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let _stdin_kept_open = child.stdin.take();
    let status = common::wait::until(Duration::from_secs(60), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("docker run -i did not exit after the container did");
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("read");
    assert_eq!(out, "done\n");
}

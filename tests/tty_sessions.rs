//! Interactive sessions with a real terminal (run under `script`, which gives the docker CLI a
//! pty): `docker run -it` and `docker exec -it` through the gateway show the container's output
//! and exit with the container's status.

mod common;

use std::process::{Command, Stdio};

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

/// Runs `docker ARGS` on a pty, feeding `input`; returns (exit code, output).
fn on_pty(docker: &Docker, args: &str, input: &str) -> (Option<i32>, String) {
    let mut child = Command::new("timeout")
        .args(["120", "script", "-qec"])
        .arg(format!("{} {args}", docker.program.display()))
        .arg("/dev/null")
        .env("DOCKER_HOST", &docker.host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &docker.cert_dir)
        .env("DOCKER_CONFIG", docker.config_dir())
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn run_it_and_exec_it_on_a_terminal() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let image = test_image();

    let (code, out) = on_pty(
        &docker,
        &format!("run -it --rm {image} sh -c 'echo hello-tty; exit 3'"),
        "",
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("hello-tty"), "{out}");

    let name = unique("tty");
    docker.ok(&["run", "-d", "--name", &name, &image, "sleep", "600"]);
    let (code, out) = on_pty(
        &docker,
        &format!("exec -it {name} sh"),
        "echo inside-$((6*7))\nexit 5\n",
    );
    docker.ok(&["rm", "-f", &name]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("inside-42"), "{out}");
}

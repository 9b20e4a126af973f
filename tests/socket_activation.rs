//! Socket activation: dockgate serves on the sockets systemd hands over (LISTEN_FDS, LISTEN_PID,
//! LISTEN_FDNAMES) instead of binding `listen.addresses`, whether started by
//! `systemd-socket-activate` or spawned directly with the variables set; descriptors meant for
//! another process are ignored, and a passed descriptor that is not a listening TCP socket is
//! refused.

mod common;

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::curl;
use common::fake::FakeEngine;
use common::gateway::{write_config, Process, RULES};
use common::pki::Pki;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A config whose own listen address is `port` (which must stay unused when sockets are passed).
fn config_listening_on(pki: &Pki, engine: &FakeEngine, port: u16) -> std::path::PathBuf {
    let path = write_config(pki, &engine.socket, RULES);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
    )
    .expect("write");
    path
}

fn ping(pki: &Pki, port: u16) -> String {
    let out = curl(&pki.client("admin"))
        .arg(format!("https://127.0.0.1:{port}/_ping"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `python3` to bind a socket (or open a file), put it on fd 3, set the LISTEN_*
/// variables and exec dockgate. Prints the port first.
fn exec_with_fd(config: &std::path::Path, kind: &str, listen_pid: &str) -> Command {
    let script = r#"
import os, socket, sys
binary, config, kind, listen_pid = sys.argv[1:5]
if kind == "tcp":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print(s.getsockname()[1], flush=True)
    fd = s.fileno()
else:
    print(0, flush=True)
    fd = os.open("/etc/hostname", os.O_RDONLY)
os.dup2(fd, 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="dockgate",
           LISTEN_PID=str(os.getpid()) if listen_pid == "self" else listen_pid)
os.execve(binary, [binary, "serve", "--config", config], env)
"#;
    let mut c = Command::new("python3");
    c.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_dockgate"))
        .arg(config)
        .arg(kind)
        .arg(listen_pid);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_socket_activate_hands_over_the_socket() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let own = free_port();
    let passed = free_port();
    let config = config_listening_on(&pki, &engine, own);
    let pki_ref = &pki;
    let mut child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(format!("127.0.0.1:{passed}"))
        .arg("--fdname=dockgate")
        .arg(env!("CARGO_BIN_EXE_dockgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate");
    // It execs dockgate on the first connection; wait for it to listen.
    common::wait::until(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", passed)).ok()
    })
    .expect("systemd-socket-activate is not listening");
    let reply = tokio::task::block_in_place(|| ping(pki_ref, passed));
    let own_refused = TcpStream::connect(("127.0.0.1", own)).is_err();
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(reply, "{\"ok\":true}");
    assert!(
        own_refused,
        "dockgate bound listen.addresses although a socket was passed"
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("using a socket passed by systemd"), "{logs}");
    assert!(logs.contains("dockgate"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_fds_from_the_environment() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let own = free_port();
    let config = config_listening_on(&pki, &engine, own);
    let gw = tokio::task::block_in_place(|| {
        Process::spawn(exec_with_fd(&config, "tcp", "self"), &config, &[])
    });
    assert_ne!(
        gw.addr.port(),
        own,
        "bound listen.addresses instead of the passed socket"
    );
    let reply = tokio::task::block_in_place(|| ping(&pki, gw.addr.port()));
    assert_eq!(reply, "{\"ok\":true}");
    assert!(TcpStream::connect(("127.0.0.1", own)).is_err());
    assert!(gw
        .logs()
        .iter()
        .any(|l| l.contains("using a socket passed by systemd")));
}

#[tokio::test(flavor = "multi_thread")]
async fn descriptors_for_another_process_are_ignored() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let own = free_port();
    let config = config_listening_on(&pki, &engine, own);
    let gw = tokio::task::block_in_place(|| {
        Process::spawn(exec_with_fd(&config, "tcp", "1"), &config, &[])
    });
    assert_eq!(
        gw.addr.port(),
        own,
        "used descriptors whose LISTEN_PID is another process"
    );
    assert_eq!(
        tokio::task::block_in_place(|| ping(&pki, own)),
        "{\"ok\":true}"
    );
}

#[test]
fn a_passed_descriptor_that_is_not_a_tcp_listener_is_refused() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&pki, &dir.path().join("docker.sock"), RULES);
    let out = exec_with_fd(&config, "file", "self").output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a listening TCP socket") || stderr.contains("unusable"),
        "{stderr}"
    );
}

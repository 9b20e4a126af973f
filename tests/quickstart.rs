//! `dockgate quickstart` gives a newcomer a working gateway in one command: it creates the
//! development certificates when missing, serves in front of the engine, and the curl and docker
//! commands it prints work as printed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::engine_socket;

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `dockgate quickstart` with certificates in `dir`, in front of the test engine.
fn start(dir: &std::path::Path) -> Kill {
    Kill(
        Command::new(env!("CARGO_BIN_EXE_dockgate"))
            .args(["quickstart", "--listen", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .arg("--socket")
            .arg(engine_socket())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    )
}

#[test]
fn printed_commands_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("dev");
    let mut child = start(&dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.0.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.contains("DOCKER_CERT_PATH="))
    {
        lines.push(
            rx.recv_timeout(Duration::from_secs(30))
                .expect("quickstart printed its commands"),
        );
    }
    assert!(lines.iter().any(|l| l.contains("created a development CA")));
    assert!(dir.join("clients/admin/key.pem").exists());

    let curl = lines
        .iter()
        .find(|l| l.trim_start().starts_with("curl "))
        .expect("curl line");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} -sSf --max-time 30", curl.trim()))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{curl}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("version JSON");
    assert!(v["ApiVersion"].is_string(), "{v}");

    let docker = lines
        .iter()
        .find(|l| l.trim_start().starts_with("docker "))
        .expect("docker line");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("timeout 60 {}", docker.trim()))
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONFIG", tmp.path())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{docker}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Server:"));

    let export = lines
        .iter()
        .find(|l| l.contains("export DOCKER_HOST"))
        .expect("export line");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{}; timeout 60 docker ps", export.trim()))
        .env("DOCKER_CONFIG", tmp.path())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{export}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A second start reuses the certificates.
    drop(child);
    let key = std::fs::read(dir.join("ca-key.pem")).expect("read");
    let mut again = start(&dir);
    let mut first = String::new();
    BufReader::new(again.0.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read");
    assert!(first.starts_with("dockgate is serving"), "{first}");
    assert_eq!(std::fs::read(dir.join("ca-key.pem")).expect("read"), key);
}

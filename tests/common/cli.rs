//! The real clients, docker CLI and curl, pointed at the gateway with a client bundle.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::pki::ClientCert;

/// The docker CLI (version 28 on PATH) configured for `host` with `client`'s bundle.
pub struct Docker {
    pub program: PathBuf,
    pub host: String,
    pub cert_dir: PathBuf,
    config_dir: tempfile::TempDir,
}

impl Docker {
    pub fn new(host: &str, client: &ClientCert) -> Docker {
        Docker::with_program("docker", host, client)
    }

    /// Debian's docker.io CLI (20.10), which ends stdin with a bare TCP FIN.
    pub fn legacy(host: &str, client: &ClientCert) -> Docker {
        Docker::with_program("/usr/bin/docker", host, client)
    }

    pub fn with_program(program: &str, host: &str, client: &ClientCert) -> Docker {
        Docker {
            program: PathBuf::from(program),
            host: host.to_string(),
            cert_dir: client.dir.clone(),
            config_dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The private DOCKER_CONFIG folder of this CLI.
    pub fn config_dir(&self) -> &Path {
        self.config_dir.path()
    }

    /// A command with the TLS environment set; bounded by `timeout 120`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("timeout");
        c.arg("120").arg(&self.program).args(args);
        c.env("DOCKER_HOST", &self.host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &self.cert_dir)
            .env("DOCKER_CONFIG", self.config_dir.path())
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run docker")
    }

    /// Starts a detached container named `name` that prints `greeting` and then sleeps.
    pub fn start_sleeper(&self, image: &str, name: &str, greeting: &str) {
        let script = format!("echo {greeting}; exec sleep 600");
        self.ok(&["run", "-d", "--name", name, image, "sh", "-c", &script]);
    }

    /// `docker logs -f NAME`, running, with its stdout lines as they come.
    pub fn follow_logs(
        &self,
        name: &str,
    ) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
        let mut child = self
            .cmd(&["logs", "-f", name])
            .stdout(Stdio::piped())
            .spawn()
            .expect("logs -f");
        let lines = stdout_lines(&mut child);
        (child, lines)
    }

    /// `docker events` for container `name`, in `format`, running, with its lines as they come.
    /// It starts with `--since` one second ago, so an event that happens before the
    /// subscription is in place is replayed, not missed.
    pub fn container_events(
        &self,
        name: &str,
        format: &str,
    ) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            - 1;
        let filter = format!("container={name}");
        let mut child = self
            .cmd(&[
                "events",
                "--since",
                &since.to_string(),
                "--filter",
                &filter,
                "--format",
                format,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("events");
        let lines = stdout_lines(&mut child);
        (child, lines)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The docker CLI talking to the engine's socket directly (for comparisons and setup).
pub fn docker_direct(socket: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg("docker")
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// curl with `client`'s bundle and a 60 s cap.
pub fn curl(client: &ClientCert) -> Command {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "60", "--cert"])
        .arg(client.cert())
        .arg("--key")
        .arg(client.key())
        .arg("--cacert")
        .arg(client.ca());
    c
}

/// What a finished command wrote, stdout then stderr.
pub fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs curl command `c` as a `POST` of `json` to `url` (JSON content type); its output.
pub fn post_json(mut c: Command, url: impl AsRef<std::ffi::OsStr>, json: &str) -> Output {
    c.args([
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        json,
    ])
    .arg(url)
    .output()
    .expect("curl")
}

/// The status code curl with `client`'s bundle gets for `GET url`.
pub fn status_of(client: &ClientCert, url: &str) -> String {
    let out = curl(client)
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(url)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines a child writes on stdout (which must be piped), as they come.
pub fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits (60 s at most) for a line containing `want`, skipping others.
pub fn expect_line(rx: &std::sync::mpsc::Receiver<String>, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(want) => return l,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("`{want}` never arrived");
}

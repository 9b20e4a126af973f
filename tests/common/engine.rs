//! A private Docker Engine of the test's own, for tests that stop and start it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait;

pub struct PrivateEngine {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Option<Child>,
}

impl PrivateEngine {
    /// Prepares paths under `dir`; does not start.
    pub fn new(dir: &Path) -> PrivateEngine {
        PrivateEngine {
            dir: dir.to_path_buf(),
            socket: dir.join("docker.sock"),
            child: None,
        }
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.join("dockerd.log")).expect("log");
        let child = Command::new("dockerd")
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg(format!("--data-root={}", self.dir.join("root").display()))
            .arg(format!("--exec-root={}", self.dir.join("exec").display()))
            .arg(format!(
                "--pidfile={}",
                self.dir.join("docker.pid").display()
            ))
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd (is docker.io installed? run tests/run.sh)");
        self.child = Some(child);
        let up = wait::until(Duration::from_secs(60), || {
            let out = Command::new("curl")
                .args(["-sf", "--max-time", "2", "--unix-socket"])
                .arg(&self.socket)
                .arg("http://engine/_ping")
                .output()
                .ok()?;
            out.status.success().then_some(())
        });
        if up.is_none() {
            let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
            panic!("private dockerd did not come up:\n{log}");
        }
    }

    /// SIGTERM, then wait for it to exit (SIGKILL after 30 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let exited = wait::until(Duration::from_secs(30), || child.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

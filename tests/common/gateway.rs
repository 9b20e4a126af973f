//! The gateway under test: in-process on 127.0.0.1:0 (for the fake-engine tests), or the real
//! `dockgate` binary with JSON logs (for the docker CLI and curl tests).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pki::Pki;
use super::wait;

/// A config file for the gateway: the test PKI, `socket` as the engine, `extra` TOML appended
/// (must hold at least one `[[allow]]` unless testing its absence).
pub fn write_config(pki: &Pki, socket: &Path, extra: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let text = format!(
        "[listen]\naddresses = [\"127.0.0.1:0\"]\n\n[tls]\nca = {}\ncert = {}\nkey = {}\n\n[upstream]\nsocket = {}\n\n[log]\nformat = \"json\"\nlevel = \"info\"\n\n{}\n",
        q(&pki.ca_path),
        q(&pki.server_cert),
        q(&pki.server_key),
        q(socket),
        extra
    );
    let path = pki.path().join(format!(
        "dockgate-{}.toml",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("write config");
    path
}

/// A port free on 127.0.0.1 right now (for configs that must name their address).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// `config` with its listen address replaced by `addr`.
pub fn listen_at(config: &Path, addr: SocketAddr) {
    let text = std::fs::read_to_string(config).expect("read");
    let text = text.replacen("127.0.0.1:0", &addr.to_string(), 1);
    std::fs::write(config, text).expect("write");
}

/// The usual rules: `admin` full, `reader` read-only.
pub const RULES: &str = "[[allow]]\ncn = \"admin\"\naccess = \"full\"\n\n[[allow]]\ncn = \"reader\"\naccess = \"read-only\"\n";

/// The gateway running inside the test's tokio runtime.
pub struct InProcess {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcess {
    pub async fn start(pki: &Pki, socket: &Path, extra: &str) -> InProcess {
        let path = write_config(pki, socket, extra);
        let config = dockgate::config::Config::load(&path).expect("config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            dockgate::run(vec![listener], config, async {
                let _ = rx.await;
            })
            .await
            .expect("gateway");
        });
        InProcess {
            addr,
            stop: Some(tx),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The `dockgate` binary, serving with a generated config.
pub struct Process {
    pub addr: SocketAddr,
    pub config: PathBuf,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    pub fn start(pki: &Pki, socket: &Path, extra: &str) -> Process {
        let config = write_config(pki, socket, extra);
        Process::start_with_config(&config)
    }

    pub fn start_with_config(config: &Path) -> Process {
        Process::start_with_env(config, &[])
    }

    /// Starts `dockgate serve` with extra environment variables (NOTIFY_SOCKET, ...).
    pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dockgate"));
        command.args(["serve", "--config"]).arg(config);
        Process::spawn(command, config, env)
    }

    /// Starts a prepared command (its stderr is read for JSON logs) and waits for "listening".
    pub fn spawn(command: Command, config: &Path, env: &[(&str, &str)]) -> Process {
        let mut process = Process::launch(command, config, env);
        let line = process
            .wait_log(Duration::from_secs(20), |v| v["message"] == "listening")
            .unwrap_or_else(|| {
                panic!(
                    "dockgate did not start listening; logs:\n{}",
                    process.logs().join("\n")
                )
            });
        process.addr = line["addr"]
            .as_str()
            .expect("addr field")
            .parse()
            .expect("addr");
        process
    }

    /// Starts `dockgate serve` on a config whose listen address is `addr` (for log settings that
    /// hide the "listening" line) and waits until the port accepts.
    pub fn spawn_at(config: &Path, addr: SocketAddr, env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dockgate"));
        command.args(["serve", "--config"]).arg(config);
        let mut process = Process::launch(command, config, env);
        process.addr = addr;
        let up = wait::until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(addr).ok().map(|_| ())
        });
        assert!(
            up.is_some(),
            "dockgate did not listen on {addr}; logs:\n{}",
            process.logs().join("\n")
        );
        process
    }

    fn launch(mut command: Command, config: &Path, env: &[(&str, &str)]) -> Process {
        let mut child = command
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dockgate");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("logs").push(line);
            }
        });
        Process {
            addr: "127.0.0.1:0".parse().expect("addr"),
            config: config.to_path_buf(),
            child,
            logs,
        }
    }

    /// Every stderr line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Every stderr line that is a JSON object.
    pub fn json_logs(&self) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits for a JSON log line matching `pred`.
    pub fn wait_log(
        &self,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        wait::until(limit, || self.json_logs().into_iter().find(|v| pred(v)))
    }

    /// Waits for a log line containing `text` among those written after the first `from` lines.
    pub fn wait_log_after(&self, from: usize, text: &str) {
        let seen = wait::until(Duration::from_secs(20), || {
            self.logs()
                .get(from..)?
                .iter()
                .any(|l| l.contains(text))
                .then_some(())
        });
        assert!(
            seen.is_some(),
            "no `{text}` in the log: {:?}",
            self.logs().get(from..)
        );
    }

    /// Waits for the next successful reload (SIGHUP or a watched file).
    pub fn wait_reloaded(&self, from: usize) {
        self.wait_log_after(from, "configuration reloaded");
    }

    /// The audit events so far.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        self.json_logs()
            .into_iter()
            .filter(|v| v["target"] == "dockgate::audit")
            .collect()
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn docker_host(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`"HUP"`, `"TERM"`, ...) to the process.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait::until(limit, || self.child.try_wait().ok().flatten())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

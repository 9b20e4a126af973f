//! A real Prometheus server on loopback scrapes the gateway and loads the shipped alert rules:
//! its HTTP API shows the target up, answers a query with the refused-handshake counts, and
//! fires the expiry alert for a server certificate made to expire within 14 days.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cli::curl;
use common::fake::FakeEngine;
use common::gateway::{free_addr, Process, RULES};
use common::pki::{server_pair_valid, Authority, ClientSpec, Pki};
use common::wait;
use time::OffsetDateTime;

const RULES_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/prometheus/dockgate-alerts.yml"
);

/// A Prometheus server, killed (by PID) when dropped.
struct Prometheus {
    child: Child,
    api: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: std::net::SocketAddr) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("dockgate-prometheus")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {RULES_FILE}\nscrape_configs:\n  - job_name: dockgate\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .expect("write");
        let listen = free_addr();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("prometheus (Debian's prometheus package; tests/run.sh installs it)");
        let p = Prometheus {
            child,
            api: format!("http://{listen}"),
            dir,
        };
        let ready = wait::until(Duration::from_secs(60), || {
            p.get("/-/ready")
                .filter(|b| b.contains("Ready"))
                .map(|_| ())
        });
        assert!(
            ready.is_some(),
            "Prometheus did not become ready:\n{}",
            p.log()
        );
        p
    }

    fn get(&self, path: &str) -> Option<String> {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "10", "-g"])
            .arg(format!("{}{path}", self.api))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, path: &str) -> Option<serde_json::Value> {
        serde_json::from_str(&self.get(path)?).ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_gateway_and_fires_the_expiry_alert() {
    let pki = Pki::new();
    // The server certificate expires in 10 days.
    let now = OffsetDateTime::now_utc();
    let (cert, key) = server_pair_valid(
        &pki.ca,
        now - time::Duration::hours(1),
        now + time::Duration::days(10),
    );
    std::fs::write(&pki.server_cert, cert).expect("write");
    std::fs::write(&pki.server_key, key).expect("write");
    let engine = FakeEngine::ok();
    let metrics = free_addr();
    let gw = tokio::task::block_in_place(|| {
        Process::start(
            &pki,
            &engine.socket,
            &format!("[metrics]\naddress = \"{metrics}\"\n\n{RULES}"),
        )
    });
    // Refused handshakes: two from another CA, one without a certificate.
    let stranger = pki.issue(
        "other-ca",
        &ClientSpec::new("admin"),
        &Authority::new("some other CA"),
    );
    for _ in 0..2 {
        let _ = curl(&stranger).arg(gw.url("/_ping")).output();
    }
    let _ = Command::new("curl")
        .args(["-s", "--max-time", "10", "--cacert"])
        .arg(&pki.ca_path)
        .arg(gw.url("/_ping"))
        .output();

    let prom = tokio::task::block_in_place(|| Prometheus::start(metrics));
    let up = wait::until(Duration::from_secs(60), || {
        let v = prom.json("/api/v1/targets")?;
        let t = &v["data"]["activeTargets"][0];
        (t["health"] == "up").then(|| t.clone())
    });
    let up = up.unwrap_or_else(|| {
        panic!(
            "the target never came up: {:?}\n{}",
            prom.json("/api/v1/targets"),
            prom.log()
        )
    });
    assert_eq!(up["labels"]["job"], "dockgate");
    assert_eq!(up["scrapeUrl"], format!("http://{metrics}/metrics"));

    let counts = wait::until(Duration::from_secs(30), || {
        let v = prom.json(
            "/api/v1/query?query=sum%20by%20(reason)%20(dockgate_handshake_failures_total%7Breason%3D~%22unknown_ca%7Cno_certificate%22%7D)",
        )?;
        let result = v["data"]["result"].as_array()?.clone();
        (result.len() == 2).then_some(result)
    })
    .unwrap_or_else(|| panic!("no handshake counts in Prometheus\n{}", prom.log()));
    for r in counts {
        let reason = r["metric"]["reason"].as_str().expect("reason").to_string();
        let value = r["value"][1].as_str().expect("value").to_string();
        let want = if reason == "unknown_ca" { "2" } else { "1" };
        assert_eq!(value, want, "{reason}");
    }

    let alert = wait::until(Duration::from_secs(60), || {
        let v = prom.json("/api/v1/alerts")?;
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["labels"]["alertname"] == "DockgateCertificateExpiringSoon"
                    && a["state"] == "firing"
            })
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "the expiry alert did not fire: {:?}\n{}",
            prom.json("/api/v1/alerts"),
            prom.log()
        )
    });
    assert_eq!(alert["labels"]["kind"], "server");
    assert_eq!(alert["labels"]["subject"], "CN=localhost");
    assert_eq!(alert["labels"]["severity"], "warning");
    // Nothing else is wrong: no other alert fires.
    let others: Vec<_> = prom.json("/api/v1/alerts").expect("alerts")["data"]["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["labels"]["alertname"] != "DockgateCertificateExpiringSoon")
        .cloned()
        .collect();
    assert!(others.is_empty(), "{others:?}");
    drop(prom);
    drop(gw);
}

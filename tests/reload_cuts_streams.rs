//! A reload re-checks every open connection, streams and hijacked sessions included, with the
//! real engine and the docker CLI: after `bob` is revoked (CRL rewritten, SIGHUP), his running
//! `docker exec -i` splice and his `docker events` stream are closed, while alice's keep working;
//! after the CA bundle stops trusting alice's CA, hers are closed too. Each cut has an audit
//! `cut` event naming the reason.

mod common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::cli::{expect_line, stdout_lines, Docker};
use common::gateway::{write_config, Process};
use common::pki::{serial_of, Authority, Pki};
use common::{engine_socket, test_image, unique};
use time::OffsetDateTime;

const RULES: &str = "[[allow]]\ncn = \"*\"\naccess = \"full\"\n";

/// A running `docker exec -i NAME cat`, its stdin open.
struct Echo {
    child: Child,
    lines: Receiver<String>,
}

impl Echo {
    fn start(docker: &Docker, name: &str) -> Echo {
        let mut child = docker
            .cmd(&["exec", "-i", name, "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("exec -i");
        let lines = stdout_lines(&mut child);
        Echo { child, lines }
    }

    /// Sends a line and waits for it to come back.
    fn echo(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
        expect_line(&self.lines, line);
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

/// A client's two long-lived streams.
struct Streams {
    exec: Echo,
    events: Child,
}

impl Streams {
    fn open(docker: &Docker, name: &str) -> Streams {
        let (events, lines) = docker.container_events(name, "{{.Action}}");
        let mut exec = Echo::start(docker, name);
        exec.echo("hello");
        // The events stream is live once it reports the exec we just started.
        expect_line(&lines, "exec_start");
        Streams { exec, events }
    }

    fn both_end(&mut self) -> bool {
        let ended = common::wait::until(Duration::from_secs(20), || {
            let exec_done = !self.exec.running();
            let events_done = self.events.try_wait().ok().flatten().is_some();
            (exec_done && events_done).then_some(())
        });
        ended.is_some()
    }

    fn alive(&mut self) -> bool {
        self.exec.running() && self.events.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        let _ = self.exec.child.kill();
        let _ = self.events.kill();
        let _ = self.exec.child.wait();
        let _ = self.events.wait();
    }
}

fn cut_reasons(gw: &Process, cn: &str) -> Vec<String> {
    gw.audit()
        .into_iter()
        .filter(|v| v["event"] == "cut" && v["client_cn"] == cn)
        .filter_map(|v| v["reason"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn revocation_and_ca_removal_cut_open_exec_and_events_streams() {
    let pki = Pki::new();
    let crl = pki.path().join("crl.pem");
    let later = OffsetDateTime::now_utc() + time::Duration::days(30);
    std::fs::write(&crl, pki.ca.crl(&[], later)).expect("write crl");
    // alice comes from a second CA, so that the bundle can stop trusting her alone.
    let other = Authority::new("second test CA");
    let other_crl = pki.path().join("other-crl.pem");
    std::fs::write(&other_crl, other.crl(&[], later)).expect("write crl");
    let bundle = pki.path().join("client-cas.pem");
    std::fs::write(
        &bundle,
        format!("{}{}", pki.ca.cert.pem(), other.cert.pem()),
    )
    .expect("write");

    let config = write_config(&pki, &engine_socket(), RULES);
    let q = |p: &std::path::Path| toml::Value::String(p.display().to_string()).to_string();
    let text = std::fs::read_to_string(&config).expect("read");
    let ca_line = format!("ca = {}", q(&pki.ca_path));
    let with_crl = text
        .replacen(&ca_line, &format!("ca = {}", q(&bundle)), 1)
        .replacen(
            "[upstream]",
            &format!("crl = [{}, {}]\n[upstream]", q(&crl), q(&other_crl)),
            1,
        );
    std::fs::write(&config, &with_crl).expect("write");
    let gw = Process::start_with_config(&config);

    let bob = pki.client("bob");
    let alice = pki.issue("alice", &common::pki::ClientSpec::new("alice"), &other);
    let admin = Docker::new(&gw.docker_host(), &bob);
    let name = unique("cut");
    admin.start_sleeper(&test_image(), &name, "ready");

    let mut bobs = Streams::open(&Docker::new(&gw.docker_host(), &bob), &name);
    let mut alices = Streams::open(&Docker::new(&gw.docker_host(), &alice), &name);

    // bob is revoked.
    let before = gw.logs().len();
    std::fs::write(&crl, pki.ca.crl(&[serial_of(&bob.cert())], later)).expect("write");
    gw.signal("HUP");
    gw.wait_reloaded(before);
    assert!(
        bobs.both_end(),
        "bob's exec -i or events outlived his revocation"
    );
    assert!(
        alices.alive(),
        "alice's streams were cut by bob's revocation"
    );
    alices.exec.echo("still alice");
    assert!(
        cut_reasons(&gw, "bob")
            .iter()
            .all(|r| r == "certificate_revoked")
            && !cut_reasons(&gw, "bob").is_empty(),
        "{:?}",
        cut_reasons(&gw, "bob")
    );

    // The bundle stops trusting alice's CA (server certificate and bob's CA stay).
    let before = gw.logs().len();
    std::fs::write(&bundle, pki.ca.cert.pem()).expect("write");
    let text = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text.replacen(&format!(", {}", q(&other_crl)), "", 1),
    )
    .expect("write");
    gw.signal("HUP");
    gw.wait_reloaded(before);
    assert!(
        alices.both_end(),
        "alice's streams outlived the removal of her CA"
    );
    let reasons = cut_reasons(&gw, "alice");
    assert!(
        !reasons.is_empty() && reasons.iter().all(|r| r == "certificate_not_trusted"),
        "{reasons:?}"
    );

    let carol = Docker::new(&gw.docker_host(), &pki.client("carol"));
    carol.ok(&["rm", "-f", &name]);
}

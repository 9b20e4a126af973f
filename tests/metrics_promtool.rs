//! The exposition and the shipped alert rules pass Prometheus' own checks: a real scrape after
//! traffic through `promtool check metrics` (which also lints names, help and units), the rules
//! through `promtool check rules`, and their unit tests (`tests/prometheus/`) through
//! `promtool test rules`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::cli::{all_output, curl};
use common::fake::FakeEngine;
use common::gateway::{free_addr, Process, RULES};
use common::metrics::scrape;
use common::pki::Pki;

const RULES_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/prometheus/dockgate-alerts.yml"
);
const RULE_TESTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/prometheus/dockgate-alerts.test.yml"
);

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; tests/run.sh installs it)");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write");
    }
    drop(input);
    let out = child.wait_with_output().expect("promtool");
    let text = all_output(&out);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn exposition_and_rules_pass_promtool() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let addr = free_addr();
    let gw = tokio::task::block_in_place(|| {
        Process::start(
            &pki,
            &engine.socket,
            &format!("[metrics]\naddress = \"{addr}\"\n\n{RULES}"),
        )
    });
    // Some of every kind of series: allowed, denied, refused, bytes, durations.
    for who in ["admin", "reader"] {
        let _ = curl(&pki.client(who)).arg(gw.url("/_ping")).output();
        let _ = curl(&pki.client(who))
            .args(["-X", "POST", "-d", "{}"])
            .arg(gw.url("/containers/create"))
            .output();
    }
    let _ = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg(format!("http://{}/", gw.addr))
        .output();
    let exposition = scrape(addr).text;
    assert!(
        exposition.contains("dockgate_requests_total{"),
        "{exposition}"
    );

    let (ok, text) = promtool(&["check", "metrics"], Some(&exposition));
    assert!(ok, "promtool check metrics:\n{text}\n---\n{exposition}");
    assert!(text.trim().is_empty(), "promtool lint findings:\n{text}");

    let (ok, text) = promtool(&["check", "rules", RULES_FILE], None);
    assert!(ok, "promtool check rules:\n{text}");
    assert!(text.contains("SUCCESS: 9 rules found"), "{text}");

    let (ok, text) = promtool(&["test", "rules", RULE_TESTS], None);
    assert!(ok, "promtool test rules:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

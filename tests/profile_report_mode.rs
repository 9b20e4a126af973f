//! `mode = "report"`: what the profile would deny goes through and the audit line says
//! `would_deny` with the rule (an endpoint outside the list, a privileged create); a body that
//! cannot be read is still refused. `explain` says `would_deny` for the same requests, and
//! `explain --suggest` turns the audit log into a profile that loads and allows what was done.

mod common;

use std::path::Path;

use common::cli::{docker_direct, Docker};
use common::gateway::Process;
use common::pki::Pki;
use common::policy::{audit_line, explain, explained};
use common::{engine_socket, test_image, unique};

const RULES: &str = r#"[[allow]]
cn = "rollout"
access = "trial"

[profiles.trial]
allow = ["GET /_ping", "HEAD /_ping", "GET /version"]
mode = "report"
"#;

#[test]
fn report_mode_forwards_and_logs_would_deny_and_suggest_builds_a_profile() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let who = Docker::new(&gw.docker_host(), &pki.client("rollout"));
    let image = test_image();

    who.ok(&["version"]);
    who.ok(&["ps", "-a"]);
    let line = audit_line(&gw, "rollout", "GET", "/containers/json");
    assert_eq!(line["decision"], "would_deny");
    assert_eq!(line["rule"], "profiles.trial.allow");
    assert_eq!(line["route"], "GET /containers/json");
    assert_eq!(line["status"], 200);

    let name = unique("report");
    who.ok(&["create", "--name", &name, "--privileged", &image, "true"]);
    let line = audit_line(&gw, "rollout", "POST", "/containers/create");
    assert_eq!(line["decision"], "would_deny");
    assert_eq!(line["status"], 201);
    // The head was outside the list; the body was inspected all the same.
    assert!(
        line["rule"] == "profiles.trial.allow"
            || line["rule"] == "profiles.trial.containers.privileged",
        "{line}"
    );
    let inspect = docker_direct(
        &engine_socket(),
        &["inspect", "--format", "{{.HostConfig.Privileged}}", &name],
    );
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        "true",
        "the request went through"
    );
    who.ok(&["rm", &name]);

    let (decision, text) = explain(&gw.config, "rollout", "GET", "/v1.47/containers/json", None);
    assert_eq!(decision, "would_deny", "{text}");
    assert_eq!(
        explained(&text, "rule").as_deref(),
        Some("profiles.trial.allow")
    );
    let body = format!(r#"{{"Image":"{image}","HostConfig":{{"Privileged":true}}}}"#);
    let (decision, text) = explain(
        &gw.config,
        "rollout",
        "POST",
        "/v1.47/containers/create",
        Some(body.as_bytes()),
    );
    assert_eq!(decision, "would_deny", "{text}");

    // A body nobody can read is refused even in report mode.
    let mut c = common::cli::curl(&pki.client("rollout"));
    c.args(["-o", "/dev/null", "-w", "%{http_code}"]);
    let out = common::cli::post_json(
        c,
        format!(
            "https://localhost:{}/v1.41/containers/create",
            gw.addr.port()
        ),
        r#"{"Image":"x","HostConfig":{"Privileged":false,"privileged":true}}"#,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
    assert_eq!(
        audit_line(&gw, "rollout", "POST", "/containers/create")["decision"],
        "deny"
    );

    // explain --suggest: the routes this client used, as a profile that loads.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.log");
    std::fs::write(&log, gw.logs().join("\n")).expect("write log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args([
            "explain",
            "--suggest",
            "--cn",
            "rollout",
            "--name",
            "rollout",
            "--audit-log",
        ])
        .arg(&log)
        .output()
        .expect("suggest");
    assert!(out.status.success(), "{out:?}");
    let suggested = String::from_utf8_lossy(&out.stdout).into_owned();
    for route in [
        "\"GET /version\"",
        "\"GET /containers/json\"",
        "\"POST /containers/create\"",
        "\"DELETE /containers/{id}\"",
    ] {
        assert!(
            suggested.contains(route),
            "{route} missing from:\n{suggested}"
        );
    }
    assert!(
        suggested.contains("[profiles.rollout.containers]"),
        "{suggested}"
    );
    let base = "[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
    let config = dockgate::config::Config::from_toml(
        &format!("{base}{suggested}"),
        Path::new("/x/suggested.toml"),
    )
    .unwrap_or_else(|e| {
        panic!(
            "the suggestion does not load: {}\n{suggested}",
            dockgate::check::error_chain(&e)
        )
    });
    let file = dir.path().join("suggested.toml");
    std::fs::write(&file, format!("{base}{suggested}")).expect("write");
    assert_eq!(config.profiles[0].name, "rollout");
    let (decision, text) = explain(&file, "rollout", "GET", "/v1.47/containers/json", None);
    assert_eq!(decision, "allow", "{text}");
    let (decision, text) = explain(&file, "rollout", "POST", "/v1.47/containers/abc/kill", None);
    assert_eq!(
        decision, "would_deny",
        "the suggestion allows only what was used: {text}"
    );
}

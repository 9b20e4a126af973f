//! Every request leaves one JSON audit line on the `dockgate::audit` target with the stable
//! fields, for allowed, denied and invalid requests alike; the query string is its own field, and
//! no header value (registry passwords travel in headers) ever reaches the log.

mod common;

use std::time::Duration;

use common::cli::curl;
use common::fake::FakeEngine;
use common::gateway::{Process, RULES};
use common::pki::Pki;

const SECRET: &str = "hunter2-registry-password";

#[tokio::test(flavor = "multi_thread")]
async fn audit_lines_have_stable_fields_and_no_secrets() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = Process::start(&pki, &engine.socket, RULES);
    let admin = pki.client("admin");
    let reader = pki.client("reader");
    let url = gw.url("/v1.41/images/create?fromImage=busybox&tag=latest");
    let (admin2, reader2, gw_url) = (
        admin.clone(),
        reader.clone(),
        gw.url("/containers/x/export"),
    );
    tokio::task::spawn_blocking(move || {
        let out = curl(&admin2)
            .args(["-X", "POST", "-H"])
            .arg(format!("X-Registry-Auth: {SECRET}"))
            .arg("--data-binary")
            .arg("0123456789")
            .arg(&url)
            .output()
            .expect("curl");
        assert!(out.status.success());
        let out = curl(&reader2).arg(&gw_url).output().expect("curl");
        assert!(out.status.success());
    })
    .await
    .expect("join");

    let audit = common::wait::until(Duration::from_secs(20), || {
        let a = gw.audit();
        (a.len() >= 2).then_some(a)
    })
    .expect("two audit lines");
    let allowed = &audit[0];
    for field in [
        "client_cn",
        "fingerprint",
        "peer",
        "method",
        "path",
        "status",
        "bytes_in",
        "bytes_out",
        "duration_ms",
        "upgraded",
        "decision",
        "access",
        "event",
        "query",
        "outcome",
    ] {
        assert!(
            allowed.get(field).is_some(),
            "field {field} missing: {allowed}"
        );
    }
    assert_eq!(allowed["client_cn"], "admin");
    assert_eq!(allowed["method"], "POST");
    assert_eq!(allowed["event"], "end");
    assert_eq!(allowed["path"], "/v1.41/images/create");
    assert_eq!(allowed["query"], "fromImage=busybox&tag=latest");
    assert!(allowed.get("raw_path").is_none(), "{allowed}");
    assert_eq!(allowed["status"], 200);
    assert_eq!(allowed["bytes_in"], 10);
    assert_eq!(allowed["bytes_out"], 11);
    assert_eq!(allowed["decision"], "allow");
    assert_eq!(allowed["access"], "full");
    assert_eq!(allowed["upgraded"], false);
    assert_eq!(allowed["fingerprint"].as_str().map(str::len), Some(64));

    let denied = &audit[1];
    assert_eq!(denied["client_cn"], "reader");
    assert_eq!(denied["status"], 403);
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["access"], "read-only");

    let all = gw.logs().join("\n");
    assert!(!all.contains(SECRET), "a header value reached the log");
    for line in gw.logs() {
        assert!(
            serde_json::from_str::<serde_json::Value>(&line).is_ok(),
            "not JSON: {line}"
        );
    }
}

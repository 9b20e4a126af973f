//! curl against the Engine API through the gateway: the JSON `filters` query (`-G
//! --data-urlencode`) returns exactly what the engine's own socket returns, and `HEAD /_ping`
//! carries the negotiation headers the docker CLI relies on.

mod common;

use std::process::Command;

use common::cli::curl;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image};

#[test]
fn filters_query_matches_the_direct_socket() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let filters = format!("filters={{\"reference\":{{\"{}\":true}}}}", test_image());
    let via = curl(&pki.client("admin"))
        .args(["-f", "-G", "--data-urlencode", &filters])
        .arg(gw.url("/v1.41/images/json"))
        .output()
        .expect("curl");
    assert!(
        via.status.success(),
        "{}",
        String::from_utf8_lossy(&via.stderr)
    );
    let direct = Command::new("curl")
        .args(["-sSf", "-G", "--data-urlencode", &filters, "--unix-socket"])
        .arg(engine_socket())
        .arg("http://engine/v1.41/images/json")
        .output()
        .expect("curl");
    assert!(direct.status.success());
    assert_eq!(
        String::from_utf8_lossy(&via.stdout),
        String::from_utf8_lossy(&direct.stdout)
    );
    let list: serde_json::Value = serde_json::from_slice(&via.stdout).expect("JSON");
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "the filter selected one image: {list}"
    );
}

#[test]
fn head_ping_carries_the_negotiation_headers() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let out = curl(&pki.client("admin"))
        .args(["-f", "-I"])
        .arg(gw.url("/_ping"))
        .output()
        .expect("curl");
    assert!(out.status.success());
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    for h in ["api-version:", "ostype: linux", "docker-experimental:"] {
        assert!(head.contains(h), "{h} missing from {head}");
    }
}

//! Every duration in the config has an upper bound (timeouts `1h`, `shutdown.grace` `24h`): a
//! longer value, or one that overflows humantime, is an error naming the key and the bound — also
//! in `dockgate check`, which used to pass `header_timeout = "300000000000years"` (and then every
//! connection panicked). The longest allowed values load, pass `check`, and serve.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::client::{get, request};
use common::fake::FakeEngine;
use common::gateway::{write_config, InProcess, RULES};
use common::pki::Pki;
use dockgate::config::Config;

/// Each duration key, its TOML table, and its bound as the error message writes it.
const KEYS: [(&str, &str, &str); 5] = [
    ("limits", "handshake_timeout", "1h"),
    ("limits", "first_byte_timeout", "1h"),
    ("limits", "header_timeout", "1h"),
    ("limits", "upstream_connect_timeout", "1h"),
    ("shutdown", "grace", "1day"),
];

/// The longest value of every duration key at once (first_byte_timeout may not pass
/// handshake_timeout, so both are at their bound).
const LONGEST: &str = "[limits]\nhandshake_timeout = \"1h\"\nfirst_byte_timeout = \"60m\"\nheader_timeout = \"3600s\"\nupstream_connect_timeout = \"1h\"\n\n[shutdown]\ngrace = \"24h\"\n\n";

const BASE: &str = "[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n";

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(text, Path::new("/etc/dockgate/test.toml"))
        .map_err(|e| dockgate::check::error_chain(&e))
}

#[test]
fn too_long_values_name_the_key_and_the_bound() {
    for (table, key, bound) in KEYS {
        let just_over = format!("{bound} 1ms");
        for value in [
            "300000000000years",
            "18446744073709551615s 500ms 500ms",
            just_over.as_str(),
        ] {
            let text = format!("{BASE}{RULES}[{table}]\n{key} = \"{value}\"\n");
            let err = load(&text).expect_err(value);
            assert!(err.contains(&format!("{table}.{key}")), "{value}: {err}");
            assert!(
                err.contains(&format!("maximum of {bound}")),
                "{value}: {err}"
            );
        }
    }
}

#[test]
fn the_longest_values_load() {
    let c = load(&format!("{BASE}{RULES}{LONGEST}")).expect("valid");
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(c.limits.handshake_timeout, hour);
    assert_eq!(c.limits.first_byte_timeout, hour);
    assert_eq!(c.limits.header_timeout, hour);
    assert_eq!(c.limits.upstream_connect_timeout, hour);
    assert_eq!(c.shutdown.grace, 24 * hour);
}

fn check(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(["check", "--config"])
        .arg(config)
        .output()
        .expect("run dockgate check")
}

#[tokio::test(flavor = "multi_thread")]
async fn check_refuses_a_huge_timeout_and_passes_the_longest() {
    let pki = Pki::new();
    let engine = FakeEngine::pinging();
    let huge = write_config(
        &pki,
        &engine.socket,
        &format!("[limits]\nheader_timeout = \"300000000000years\"\n\n{RULES}"),
    );
    let longest = write_config(&pki, &engine.socket, &format!("{LONGEST}{RULES}"));
    tokio::task::spawn_blocking(move || {
        let out = check(&huge);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success(), "{stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stdout.contains("limits.header_timeout"), "{stdout}");
        assert!(stdout.contains("maximum of 1h"), "{stdout}");

        let out = check(&longest);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_serves_with_the_longest_timeouts() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, &format!("{LONGEST}{RULES}")).await;
    let admin = pki.client("admin");
    for _ in 0..2 {
        let reply = request(gw.addr, &pki, &admin, get("/_ping")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
}

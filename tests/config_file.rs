//! The configuration file: the shipped example parses, relative paths resolve against the file's
//! folder, and every mistake is an error naming the file and the key.

use std::path::Path;

use dockgate::config::{Access, Config, LogFormat};

#[test]
fn shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dockgate.toml");
    let c = Config::load(&path).expect("the example config is valid");
    assert_eq!(c.listen, vec!["0.0.0.0:2376".parse().expect("addr")]);
    assert_eq!(c.upstream.socket, Path::new("/var/run/docker.sock"));
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.limits.max_header_bytes, 131072);
    assert_eq!(c.limits.max_connections, 4096);
    assert_eq!(c.limits.handshake_timeout.as_secs(), 10);
    assert_eq!(c.limits.first_byte_timeout.as_secs(), 3);
    assert_eq!(c.limits.max_handshakes, 256);
    assert_eq!(c.limits.max_connections_per_identity, 512);
    assert_eq!(c.limits.max_inspected_body, 1 << 20);
    assert_eq!(c.limits.max_inspected_total, 64 << 20);
    assert_eq!(c.limits.body_timeout.as_secs(), 30);
    assert_eq!(c.allow.len(), 3);
    assert_eq!(c.allow[0].access, Access::Full);
    assert_eq!(c.allow[1].access, Access::ReadOnly);
    assert_eq!(c.allow[2].access, Access::Profile("ci".into()));
    let ci = &c.profiles[0];
    assert_eq!(ci.name, "ci");
    assert_eq!(ci.allow.len(), 7);
    assert!(!ci.hijack && !ci.containers.privileged);
    assert_eq!(ci.images.as_ref().map(Vec::len), Some(2));
}

const BASE: &str = "[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
const ALLOW: &str = "[[allow]]\ncn = \"admin\"\naccess = \"full\"\n";

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(text, Path::new("/etc/dockgate/test.toml"))
        .map_err(|e| dockgate::check::error_chain(&e))
}

#[test]
fn minimal_config_gets_defaults_and_relative_paths() {
    let c = load(&format!("{BASE}{ALLOW}")).expect("valid");
    assert_eq!(c.tls.ca, Path::new("/etc/dockgate/ca.pem"));
    assert_eq!(c.tls.key, Path::new("/etc/dockgate/k.pem"));
    assert_eq!(c.listen.len(), 1);
    assert_eq!(c.limits.header_timeout.as_secs(), 30);
    assert_eq!(c.limits.first_byte_timeout.as_secs(), 3);
    assert_eq!(c.limits.max_handshakes, 256);
    assert_eq!(c.limits.max_connections_per_identity, 512);
}

#[test]
fn connection_budgets_follow_max_connections_and_handshake_timeout() {
    let per_identity = |total: usize| {
        load(&format!(
            "{BASE}{ALLOW}[limits]\nmax_connections = {total}\n"
        ))
        .expect("valid")
        .limits
        .max_connections_per_identity
    };
    assert_eq!(per_identity(1024), 128, "an eighth");
    assert_eq!(per_identity(100), 64, "at least 64");
    assert_eq!(per_identity(3), 3, "all of them when fewer");
    let c = load(&format!(
        "{BASE}{ALLOW}[limits]\nhandshake_timeout = \"1s\"\n"
    ))
    .expect("valid");
    assert_eq!(
        c.limits.first_byte_timeout.as_secs(),
        1,
        "never past the handshake"
    );
    let c = load(&format!(
        "{BASE}{ALLOW}[limits]\nmax_connections = 10\nmax_connections_per_identity = 10\nmax_handshakes = 65536\nfirst_byte_timeout = \"10s\"\n"
    ))
    .expect("valid");
    assert_eq!(c.limits.max_connections_per_identity, 10);
    assert_eq!(c.limits.max_handshakes, 65536);
    assert_eq!(c.limits.first_byte_timeout.as_secs(), 10);
}

#[test]
fn mistakes_name_the_file_and_the_key() {
    let cases: &[(&str, &str)] = &[
        (BASE, "allow"),
        (
            &format!("{BASE}{ALLOW}[limits]\nhandshake_timeout = \"soon\"\n"),
            "limits.handshake_timeout",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nheader_timeout = \"0s\"\n"),
            "limits.header_timeout",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_connections = 0\n"),
            "limits.max_connections",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_header_bytes = 100\n"),
            "limits.max_header_bytes",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_handshakes = 0\n"),
            "limits.max_handshakes",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_handshakes = 65537\n"),
            "limits.max_handshakes",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_connections_per_identity = 0\n"),
            "limits.max_connections_per_identity",
        ),
        (
            &format!(
                "{BASE}{ALLOW}[limits]\nmax_connections = 10\nmax_connections_per_identity = 11\n"
            ),
            "limits.max_connections_per_identity",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nfirst_byte_timeout = \"11s\"\n"),
            "limits.first_byte_timeout",
        ),
        (
            &format!(
                "{BASE}{ALLOW}[limits]\nhandshake_timeout = \"1s\"\nfirst_byte_timeout = \"2s\"\n"
            ),
            "limits.first_byte_timeout",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nfirst_byte_timeout = \"0s\"\n"),
            "limits.first_byte_timeout",
        ),
        (
            &format!("{BASE}{ALLOW}[listen]\naddresses = [\"localhost\"]\n"),
            "listen.addresses[0]",
        ),
        (
            &format!("{BASE}{ALLOW}[log]\nformat = \"xml\"\n"),
            "log.format",
        ),
        (
            &format!("{BASE}{ALLOW}[log]\nlevel = \"loud\"\n"),
            "log.level",
        ),
        (
            &format!("{BASE}[[allow]]\ncn = \"a\"\naccess = \"root\"\n"),
            "allow[0].access",
        ),
        (&format!("{BASE}[[allow]]\ncn = \"a\"\n"), "allow[0].access"),
        (
            &format!("{BASE}{ALLOW}[[allow]]\naccess = \"full\"\n"),
            "allow[1]",
        ),
        (
            &format!("{BASE}[[allow]]\nfingerprint = \"abc\"\naccess = \"full\"\n"),
            "allow[0].fingerprint",
        ),
        (
            &format!("{BASE}[[allow]]\ncn = \"\"\naccess = \"full\"\n"),
            "allow[0].cn",
        ),
        (
            &format!("{BASE}{ALLOW}[upstream]\nsocket = \"\"\n"),
            "upstream.socket",
        ),
        (&format!("{BASE}{ALLOW}[tls2]\nx = 1\n"), "tls2"),
        (
            &format!("{BASE}{ALLOW}[limits]\nidle_timeout = \"1s\"\n"),
            "idle_timeout",
        ),
        (
            &format!("{BASE}[[allow]]\ncn = \"a\"\naccess = \"full\"\nrole = \"x\"\n"),
            "role",
        ),
        ("[listen]\naddresses = [\"0.0.0.0:2376\"]\n", "tls"),
        (
            &format!("{BASE}{ALLOW}").replace("key = ", "crl = 5\nkey = "),
            "crl = 5",
        ),
        (
            &format!("{BASE}{ALLOW}").replace("key = ", "watch = \"yes\"\nkey = "),
            "watch",
        ),
        (
            &format!("{BASE}{ALLOW}[limits]\nmax_connections = \"lots\"\n"),
            "max_connections",
        ),
    ];
    for (text, key) in cases {
        let err = load(text).expect_err(key);
        assert!(err.contains("/etc/dockgate/test.toml"), "no file in: {err}");
        assert!(err.contains(key), "no key `{key}` in: {err}");
    }
}

#[test]
fn fingerprints_accept_colons_and_upper_case() {
    let fp = "AB:".repeat(31) + "AB";
    let c = load(&format!(
        "{BASE}[[allow]]\nfingerprint = \"{fp}\"\naccess = \"read-only\"\n"
    ))
    .expect("valid");
    assert_eq!(
        c.allow[0].matcher.fingerprint.as_deref(),
        Some("ab".repeat(32).as_str())
    );
}

#[test]
fn missing_file_is_named() {
    let err = Config::load(Path::new("/nonexistent/dockgate.toml")).expect_err("missing");
    assert!(err.to_string().contains("/nonexistent/dockgate.toml"));
}

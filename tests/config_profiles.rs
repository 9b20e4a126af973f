//! `[profiles.NAME]` in the configuration file: a valid profile loads as typed rules, and every
//! mistake is an error that names the file, the key and the entry.

use std::path::Path;

use dockgate::config::{Access, AllowEntry, Config, Mode};

const BASE: &str = "[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n";

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(
        &format!("{BASE}{text}"),
        Path::new("/etc/dockgate/test.toml"),
    )
    .map_err(|e| dockgate::check::error_chain(&e))
}

/// An `[[allow]]` entry for `p` and the profile body `rest`.
fn with_profile(rest: &str) -> String {
    format!("[[allow]]\ncn = \"x\"\naccess = \"p\"\n[profiles.p]\n{rest}\n")
}

#[test]
fn a_profile_loads_as_typed_rules() {
    let c = load(&with_profile(
        r#"allow = ["read-only", "POST,DELETE /containers/{id}", "* /libpod/**"]
hijack = true
mode = "report"
images = ["busybox", "registry.example.com:5000/team/**"]
[profiles.p.containers]
cap_add = ["cap_net_bind_service", "Chown"]
bind_mounts = ["/srv/ci/", "/data//x/."]
host_namespaces = true
"#,
    ))
    .expect("valid");
    assert_eq!(c.allow[0].access, Access::Profile("p".into()));
    let p = &c.profiles[0];
    assert_eq!(p.allow.len(), 3);
    assert_eq!(p.allow[0], AllowEntry::ReadOnly);
    assert!(p.hijack);
    assert_eq!(p.mode, Mode::Report);
    assert_eq!(
        p.containers.cap_add,
        vec!["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    );
    assert_eq!(p.containers.bind_mounts, vec!["/srv/ci", "/data/x"]);
    assert!(p.containers.host_namespaces && !p.containers.privileged);
    assert_eq!(p.images.as_ref().map(Vec::len), Some(2));
}

#[test]
fn defaults_refuse_everything_a_body_can_ask_for() {
    let c = load(&with_profile(r#"allow = ["GET /_ping"]"#)).expect("valid");
    let p = &c.profiles[0];
    assert!(!p.hijack);
    assert_eq!(p.mode, Mode::Enforce);
    assert!(p.images.is_none());
    let r = &p.containers;
    assert!(!r.privileged && !r.host_namespaces && !r.devices && !r.security_opt_unconfined);
    assert!(!r.volumes_from && !r.annotations);
    assert!(r.cap_add.is_empty() && r.bind_mounts.is_empty());
}

#[test]
fn mistakes_name_the_file_the_key_and_the_entry() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"allow = ["GETX /containers/json"]"#,
            &["/etc/dockgate/test.toml", "profiles.p.allow[0]", "GETX"],
        ),
        (
            r#"allow = ["GET /_ping", "GET /v1.41/containers/json"]"#,
            &["profiles.p.allow[1]", "leave the API version out"],
        ),
        (r#"allow = ["GET /a/**/b"]"#, &["profiles.p.allow[0]", "`**`"]),
        (r#"allow = ["GET containers"]"#, &["profiles.p.allow[0]", "/"]),
        (r#"allow = ["readonly"]"#, &["profiles.p.allow[0]", "readonly"]),
        (r#"allow = ["GET"]"#, &["profiles.p.allow[0]"]),
        (r#"allow = ["GET /a/{id"]"#, &["profiles.p.allow[0]"]),
        (r#"allow = []"#, &["profiles.p.allow", "empty"]),
        ("allow = [\"GET /_ping\"]\nmode = \"audit\"", &["mode", "audit"]),
        ("allow = [\"GET /_ping\"]\nbogus = 1", &["bogus"]),
        ("allow = [\"GET /_ping\"]\nhijack = \"yes\"", &["hijack"]),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\ncap_add = [\"NOPE\"]",
            &["profiles.p.containers.cap_add[0]", "NOPE"],
        ),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\nbind_mounts = [\"relative\"]",
            &["profiles.p.containers.bind_mounts[0]", "relative"],
        ),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\nlog_drivers = [\"json-file\", \"\"]",
            &["profiles.p.containers.log_drivers[1]", "not a log driver name"],
        ),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\nbind_mounts = [\"/srv/../etc\"]",
            &["profiles.p.containers.bind_mounts[0]", ".."],
        ),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\nprivileged = \"yes\"",
            &["privileged"],
        ),
        (
            "allow = [\"GET /_ping\"]\n[profiles.p.containers]\nseccomp = false",
            &["seccomp"],
        ),
        (
            "allow = [\"GET /_ping\"]\nimages = [\"Busybox\"]",
            &["profiles.p.images[0]", "Busybox"],
        ),
        (
            "allow = [\"GET /_ping\"]\nimages = [\"busybox\"]\n[profiles.p.containers]\nimages = [\"busybox\"]",
            &["images"],
        ),
        // A shortened digest can never match: the engine names images by whole digests.
        (
            "allow = [\"GET /_ping\"]\nimages = [\"busybox@sha256:abc\"]",
            &["profiles.p.images[0]", "digest must be whole"],
        ),
    ];
    for (text, wants) in cases {
        let err = load(&with_profile(text)).expect_err(text);
        for want in *wants {
            assert!(
                err.contains(want),
                "{text}\n  error: {err}\n  lacks: {want}"
            );
        }
    }
}

#[test]
fn access_must_name_a_known_profile() {
    let err =
        load("[[allow]]\ncn = \"x\"\naccess = \"cii\"\n[profiles.ci]\nallow = [\"GET /_ping\"]\n")
            .expect_err("unknown profile");
    assert!(err.contains("allow[0].access"), "{err}");
    assert!(err.contains("cii") && err.contains("ci"), "{err}");
}

#[test]
fn max_inspected_body_is_bounded() {
    let allow = "[[allow]]\ncn = \"x\"\naccess = \"full\"\n";
    for bad in ["1023", "67108865", "-1"] {
        let err = load(&format!("[limits]\nmax_inspected_body = {bad}\n{allow}")).expect_err(bad);
        assert!(err.contains("limits.max_inspected_body"), "{bad}: {err}");
    }
    let c = load(&format!("[limits]\nmax_inspected_body = 4096\n{allow}")).expect("valid");
    assert_eq!(c.limits.max_inspected_body, 4096);
}

#[test]
fn inspected_bodies_share_a_bounded_budget_and_a_deadline() {
    let allow = "[[allow]]\ncn = \"x\"\naccess = \"full\"\n";
    let c = load(allow).expect("defaults");
    assert_eq!(c.limits.max_inspected_total, 64 << 20);
    assert_eq!(c.limits.body_timeout.as_secs(), 30);
    for bad in [
        "max_inspected_total = 1023",
        "max_inspected_total = -5",
        "max_inspected_body = 8192\nmax_inspected_total = 4096",
    ] {
        let err = load(&format!("[limits]\n{bad}\n{allow}")).expect_err(bad);
        assert!(err.contains("limits.max_inspected_total"), "{bad}: {err}");
    }
    for bad in ["0s", "2h", "soon"] {
        let err = load(&format!("[limits]\nbody_timeout = \"{bad}\"\n{allow}")).expect_err(bad);
        assert!(err.contains("limits.body_timeout"), "{bad}: {err}");
    }
    let c = load(&format!(
        "[limits]\nmax_inspected_total = 1048576\nbody_timeout = \"5s\"\n{allow}"
    ))
    .expect("valid");
    assert_eq!(c.limits.max_inspected_total, 1 << 20);
    assert_eq!(c.limits.body_timeout.as_secs(), 5);
}

#[test]
fn unknown_keys_name_their_table() {
    let allow = "[[allow]]\ncn = \"x\"\naccess = \"ci\"\n";
    let cases = [
        (
            format!("{allow}[profiles.ci]\nallow = [\"read-only\"]\nhijak = true\n"),
            "(in [profiles.ci])",
            "hijak",
        ),
        (
            format!("{allow}[profiles.ci]\nallow = [\"read-only\"]\n[profiles.ci.containers]\nprivilegd = true\n"),
            "(in [profiles.ci.containers])",
            "privilegd",
        ),
        (
            format!("{allow}[[allow]]\ncn = \"y\"\nacess = \"full\"\n[profiles.ci]\nallow = [\"read-only\"]\n"),
            "(in allow[1])",
            "acess",
        ),
    ];
    for (text, table, key) in cases {
        let err = load(&text).expect_err(key);
        assert!(err.contains(table) && err.contains(key), "{key}: {err}");
    }
}

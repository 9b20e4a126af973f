//! `/metrics` after real traffic moves by exactly what was done: refused handshakes of every kind
//! (curl with the refusal tests' certificates, a stranger's CA certificate, a revoked client,
//! plain HTTP, a silent peer, junk bytes) each under its reason; then the docker CLI and curl against the real engine: allowed,
//! denied and unknown clients counted by allow-entry name, profile, method, route, code and
//! decision, and bytes per allow entry, all equal to what the audit log recorded.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::cli::{curl, post_json, status_of, Docker};
use common::gateway::{free_addr, write_config, Process};
use common::metrics::{scrape, Scrape};
use common::pki::{serial_of, Authority, ClientCert, ClientSpec, Pki};
use common::wait;
use rcgen::ExtendedKeyUsagePurpose;
use time::OffsetDateTime;

const RULES: &str = "[[allow]]\ncn = \"admin\"\naccess = \"full\"\n\n[[allow]]\nname = \"readers\"\ncn = \"reader\"\naccess = \"read-only\"\n";

/// Runs curl with `client` (or with only the CA when `None`) against `url`; the result is not
/// looked at: refused handshakes make curl fail.
fn knock(pki: &Pki, client: Option<&ClientCert>, url: &str) {
    let mut c = match client {
        Some(who) => curl(who),
        None => {
            let mut c = Command::new("curl");
            c.args(["-sS", "--max-time", "20", "--cacert"])
                .arg(&pki.ca_path);
            c
        }
    };
    let _ = c.arg(url).output().expect("curl");
}

fn failures(s: &Scrape) -> BTreeMap<String, f64> {
    s.matching("dockgate_handshake_failures_total", &[])
        .map(|x| (x.labels["reason"].clone(), x.value))
        .collect()
}

#[test]
fn counters_move_by_exactly_what_was_done() {
    let pki = Pki::new();
    let now = OffsetDateTime::now_utc();
    let revoked = pki.client("revoked");
    let crl = pki.path().join("crl.pem");
    std::fs::write(
        &crl,
        pki.ca.crl(
            &[serial_of(&revoked.cert())],
            now + time::Duration::days(30),
        ),
    )
    .expect("crl");
    let metrics_addr = free_addr();
    let config = write_config(
        &pki,
        &common::engine_socket(),
        &format!(
            "[limits]\nfirst_byte_timeout = \"1s\"\n\n[metrics]\naddress = \"{metrics_addr}\"\n\n{RULES}"
        ),
    );
    let text = std::fs::read_to_string(&config).expect("read");
    let crl_line = format!(
        "crl = {}\n[upstream]",
        toml::Value::String(crl.display().to_string())
    );
    std::fs::write(&config, text.replacen("[upstream]", &crl_line, 1)).expect("write");
    let gw = Process::start_with_config(&config);
    let url = gw.url("/_ping");

    let before = scrape(metrics_addr);
    assert_eq!(before.sum("dockgate_handshakes_total", &[]), 0.0);
    assert!(
        failures(&before).values().all(|v| *v == 0.0),
        "every reason starts at 0: {:?}",
        failures(&before)
    );
    assert_eq!(failures(&before).len(), 10, "{:?}", failures(&before));

    // Refused handshakes, each kind a known number of times.
    let spec = |f: &dyn Fn(&mut ClientSpec)| {
        let mut s = ClientSpec::new("admin");
        f(&mut s);
        s
    };
    let expired = pki.client_spec(
        "expired",
        &spec(&|s| {
            s.not_before = now - time::Duration::days(30);
            s.not_after = now - time::Duration::days(1);
        }),
    );
    let future = pki.client_spec(
        "future",
        &spec(&|s| {
            s.not_before = now + time::Duration::days(1);
            s.not_after = now + time::Duration::days(30);
        }),
    );
    let no_eku = pki.client_spec("no-eku", &spec(&|s| s.eku = vec![]));
    let server_eku = pki.client_spec(
        "server-eku",
        &spec(&|s| s.eku = vec![ExtendedKeyUsagePurpose::ServerAuth]),
    );
    let ca_leaf = pki.client_spec("ca-leaf", &spec(&|s| s.is_ca = true));
    let other_ca = Authority::new("some other CA");
    let other = pki.issue("other-ca", &ClientSpec::new("admin"), &other_ca);
    // A stranger's CA certificate: not from our CA, so unknown_ca, not ca_as_client.
    let foreign_ca_leaf = pki.issue("foreign-ca-leaf", &spec(&|s| s.is_ca = true), &other_ca);
    knock(&pki, None, &url);
    knock(&pki, None, &url);
    knock(&pki, Some(&other), &url);
    knock(&pki, Some(&foreign_ca_leaf), &url);
    knock(&pki, Some(&expired), &url);
    knock(&pki, Some(&future), &url);
    knock(&pki, Some(&revoked), &url);
    knock(&pki, Some(&revoked), &url);
    knock(&pki, Some(&no_eku), &url);
    knock(&pki, Some(&server_eku), &url);
    knock(&pki, Some(&ca_leaf), &url);
    let _ = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .arg(format!("http://{}/_ping", gw.addr))
        .output();
    {
        // Junk that is neither TLS nor HTTP.
        let mut s = TcpStream::connect(gw.addr).expect("connect");
        let _ = s.write_all(b"\x16\x03\x01\x00\x04junk");
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
    }
    // A peer that says nothing until limits.first_byte_timeout (1 s) is over.
    let silent = TcpStream::connect(gw.addr).expect("connect");
    let want: BTreeMap<String, f64> = [
        ("no_certificate", 2.0),
        ("unknown_ca", 2.0),
        ("expired", 1.0),
        ("not_yet_valid", 1.0),
        ("revoked", 2.0),
        ("bad_key_usage", 2.0),
        ("ca_as_client", 1.0),
        ("plain_http", 1.0),
        ("protocol", 1.0),
        ("timeout", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let total: f64 = want.values().sum();
    let after = wait::until(Duration::from_secs(20), || {
        let s = scrape(metrics_addr);
        (failures(&s).values().sum::<f64>() >= total).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "not every refusal was counted: {:?}",
            failures(&scrape(metrics_addr))
        )
    });
    drop(silent);
    assert_eq!(failures(&after), want, "handshake failures by reason");
    assert_eq!(
        after.sum("dockgate_handshakes_total", &[]),
        total,
        "every attempt is one handshake"
    );

    // Real traffic: the docker CLI as admin, curl as reader and as a client no entry matches.
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    docker.ok(&["version"]);
    docker.ok(&["ps"]);
    let reader = pki.client("reader");
    for _ in 0..3 {
        let out = curl(&reader).arg(gw.url("/_ping")).output().expect("curl");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "OK");
    }
    for _ in 0..2 {
        let out = post_json(curl(&reader), gw.url("/v1.41/containers/create"), "{}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("not allowed"));
    }
    assert_eq!(
        status_of(&pki.client("admin"), &gw.url("/v1.41/no/such/route")),
        "404"
    );
    assert_eq!(status_of(&pki.client("stranger"), &gw.url("/_ping")), "403");

    // Everything the audit log recorded, and nothing else, is in the counters.
    let audit_ends = || -> Vec<serde_json::Value> {
        gw.audit()
            .into_iter()
            .filter(|v| v["event"] == "end")
            .collect()
    };
    let s = wait::until(Duration::from_secs(20), || {
        let s = scrape(metrics_addr);
        (s.sum("dockgate_requests_total", &[]) == audit_ends().len() as f64).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "requests_total {} != {} audited requests",
            scrape(metrics_addr).sum("dockgate_requests_total", &[]),
            audit_ends().len()
        )
    });
    let ends = audit_ends();
    let of = |cn: &str, field: &str| -> f64 {
        ends.iter()
            .filter(|v| v["client_cn"] == cn)
            .map(|v| v[field].as_u64().expect("number") as f64)
            .sum()
    };
    let count = |cn: &str| ends.iter().filter(|v| v["client_cn"] == cn).count() as f64;
    for (cn, identity) in [
        ("admin", "admin"),
        ("reader", "readers"),
        ("stranger", "unknown"),
    ] {
        let id = [("identity", identity)];
        assert_eq!(
            s.sum("dockgate_requests_total", &id),
            count(cn),
            "requests of {identity}"
        );
        if identity != "unknown" {
            assert_eq!(
                s.sum("dockgate_received_bytes_total", &id),
                of(cn, "bytes_in"),
                "bytes received from {identity}"
            );
            assert_eq!(
                s.sum("dockgate_sent_bytes_total", &id),
                of(cn, "bytes_out"),
                "bytes sent to {identity}"
            );
        }
    }
    let exact = [
        (
            [
                ("identity", "readers"),
                ("profile", "read-only"),
                ("method", "GET"),
                ("route", "/_ping"),
                ("code", "200"),
                ("decision", "allow"),
            ],
            3.0,
        ),
        (
            [
                ("identity", "readers"),
                ("profile", "read-only"),
                ("method", "POST"),
                ("route", "/containers/create"),
                ("code", "403"),
                ("decision", "deny"),
            ],
            2.0,
        ),
        (
            [
                ("identity", "admin"),
                ("profile", "full"),
                ("method", "GET"),
                ("route", "/containers/json"),
                ("code", "200"),
                ("decision", "allow"),
            ],
            1.0,
        ),
        (
            [
                ("identity", "admin"),
                ("profile", "full"),
                ("method", "GET"),
                ("route", "other"),
                ("code", "404"),
                ("decision", "allow"),
            ],
            1.0,
        ),
        (
            [
                ("identity", "unknown"),
                ("profile", "none"),
                ("method", "GET"),
                ("route", "/_ping"),
                ("code", "403"),
                ("decision", "deny"),
            ],
            1.0,
        ),
    ];
    for (labels, n) in exact {
        let got = s.sum("dockgate_requests_total", &labels);
        assert_eq!(got, n, "{labels:?}\n{}", s.text);
    }
    // Every one of those was a plain request: each has its duration.
    assert_eq!(
        s.sum(
            "dockgate_request_duration_seconds_count",
            &[("identity", "readers"), ("route", "/_ping")]
        ),
        3.0
    );
    assert_eq!(
        failures(&s),
        want,
        "good clients added no handshake failures"
    );
    assert!(s.sum("dockgate_handshakes_total", &[]) >= total + 7.0);
    assert_eq!(s.sum("dockgate_engine_up", &[]), 1.0);
    assert_eq!(s.sum("dockgate_engine_errors_total", &[]), 0.0);
    assert_eq!(
        s.sum(
            "dockgate_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // No raw path, peer address or certificate name beyond the configured ones.
    assert!(!s.text.contains("no/such/route"), "{}", s.text);
    assert!(!s.text.contains("stranger"), "{}", s.text);
    assert!(!s.text.contains("127.0.0.1"), "{}", s.text);
}

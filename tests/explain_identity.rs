//! `dockgate explain` sees the client the way `serve` does: `--cert` is first put through the
//! handshake's own verification (CA bundle, validity, key usage), so a certificate `serve` refuses
//! before any request is explained as refused, never as allowed; `--fingerprint` lets `--cn`
//! questions match `fingerprint` rules; and the method is taken as sent (`get` is not `GET`).

mod common;

use std::process::Command;

use common::cli::all_output;
use common::gateway::write_config;
use common::pki::{Authority, ClientSpec, Pki};

fn explain(config: &std::path::Path, who: &[&str], method: &str, path: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .arg("explain")
        .arg("--config")
        .arg(config)
        .args(who)
        .args([method, path])
        .output()
        .expect("dockgate explain");
    let text = all_output(&out);
    (out.status.success(), text)
}

#[test]
fn explain_judges_the_client_as_the_handshake_and_serve_do() {
    let pki = Pki::new();
    let good = pki.client("ops");
    let fp = {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_file(good.cert()).expect("pem");
        dockgate::tls::fingerprint(&der)
    };
    let rules = format!(
        r#"[[allow]]
fingerprint = "{fp}"
access = "full"

[[allow]]
cn = "*"
access = "ops"

[profiles.ops]
allow = ["GET /_ping", "GET /version"]
"#
    );
    let config = write_config(&pki, std::path::Path::new("/nonexistent.sock"), &rules);
    let cert = |c: &common::pki::ClientCert| c.cert().to_str().expect("utf-8").to_string();

    // A good certificate: the fingerprint rule matches, full access.
    let (ok, text) = explain(&config, &["--cert", &cert(&good)], "GET", "/v1.41/info");
    assert!(ok, "{text}");
    assert!(text.contains("access:   full"), "{text}");

    // Certificates the handshake refuses: never explained as allowed.
    let now = time::OffsetDateTime::now_utc();
    let expired = pki.client_spec(
        "expired",
        &ClientSpec {
            not_before: now - time::Duration::days(10),
            not_after: now - time::Duration::days(1),
            ..ClientSpec::new("ops")
        },
    );
    let stranger = pki.issue(
        "stranger",
        &ClientSpec::new("ops"),
        &Authority::new("other CA"),
    );
    let server_only = pki.client_spec(
        "server-only",
        &ClientSpec {
            eku: vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            ..ClientSpec::new("ops")
        },
    );
    for (bad, why) in [
        (&expired, "expired"),
        (&stranger, "another CA"),
        (&server_only, "no clientAuth"),
    ] {
        let (ok, text) = explain(&config, &["--cert", &cert(bad)], "GET", "/_ping");
        assert!(!ok, "{why}: {text}");
        assert!(
            text.contains("decision: deny")
                && text.contains("the TLS handshake refuses this certificate"),
            "{why}: {text}"
        );
    }

    // --cn with --fingerprint matches the fingerprint rule; without it, the profile.
    let colons: String = fp
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    let (ok, text) = explain(
        &config,
        &["--cn", "ops", "--fingerprint", &colons],
        "GET",
        "/info",
    );
    assert!(ok && text.contains("access:   full"), "{text}");
    let (ok, text) = explain(&config, &["--cn", "ops"], "GET", "/info");
    assert!(!ok && text.contains("profile \"ops\""), "{text}");

    // The method as sent: `get` is an extension method to serve, which no entry allows.
    let (ok, text) = explain(&config, &["--cn", "ops"], "GET", "/_ping");
    assert!(ok, "{text}");
    let (ok, text) = explain(&config, &["--cn", "ops"], "get", "/_ping");
    assert!(!ok && text.contains("decision: deny"), "{text}");
}

//! `dockgate doctor` explains each failure it can tell apart, each produced here by a real
//! misconfiguration: unreachable gateway, server certificate from another CA, host not in the
//! server certificate, expired server certificate, no client certificate, an expired, revoked,
//! foreign-CA or wrong-usage client certificate, refusal by the rules, the engine down; and on
//! success it prints the engine's version and the client's identity and access.

mod common;

use std::path::Path;
use std::process::Command;

use common::engine_socket;
use common::fake::FakeEngine;
use common::gateway::{write_config, Process};
use common::pki::{server_pair_valid, Authority, ClientCert, ClientSpec, Pki};
use time::{Duration, OffsetDateTime};

const RULES: &str = "[[allow]]\ncn = \"alice\"\naccess = \"full\"\n";

fn doctor(host: &str, bundle: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(["doctor", "--timeout", "10", "--host", host, "--cert-path"])
        .arg(bundle)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CERT_PATH")
        .output()
        .expect("run doctor");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn expect_problem(host: &str, bundle: &Path, words: &[&str]) {
    let (ok, text) = doctor(host, bundle);
    assert!(!ok, "doctor found nothing wrong:\n{text}");
    let problem = text
        .lines()
        .find(|l| l.starts_with("PROBLEM:"))
        .unwrap_or_else(|| panic!("no PROBLEM line:\n{text}"));
    for w in words {
        assert!(problem.contains(w), "`{w}` not in: {problem}");
    }
}

/// A copy of `bundle` with some files replaced or removed.
fn variant(
    pki: &Pki,
    label: &str,
    from: &ClientCert,
    ca: Option<&str>,
    drop_cert: bool,
) -> std::path::PathBuf {
    let dir = pki.path().join("variants").join(label);
    std::fs::create_dir_all(&dir).expect("mkdir");
    match ca {
        Some(pem) => std::fs::write(dir.join("ca.pem"), pem).expect("write"),
        None => {
            std::fs::copy(from.ca(), dir.join("ca.pem")).expect("copy");
        }
    }
    if !drop_cert {
        std::fs::copy(from.cert(), dir.join("cert.pem")).expect("copy");
        std::fs::copy(from.key(), dir.join("key.pem")).expect("copy");
    }
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn each_diagnosis_from_a_real_misconfiguration() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let now = OffsetDateTime::now_utc();
    let alice = pki.client("alice");
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, RULES));
    let host = gw.docker_host();
    tokio::task::block_in_place(|| {
        // Unreachable.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");
        expect_problem(&format!("tcp://{free}"), &alice.dir, &["unreachable"]);

        // The client trusts another CA for the server.
        let other = Authority::new("someone else's CA");
        let wrong_ca = variant(&pki, "wrong-ca", &alice, Some(&other.cert.pem()), false);
        expect_problem(
            &host,
            &wrong_ca,
            &["server's certificate is not signed by the CA"],
        );

        // No client certificate.
        let bare = variant(&pki, "bare", &alice, None, true);
        expect_problem(
            &host,
            &bare,
            &["requires a client certificate", "none was sent"],
        );

        // Expired client certificate.
        let mut spec = ClientSpec::new("alice");
        spec.not_before = now - Duration::days(30);
        spec.not_after = now - Duration::days(1);
        let expired = pki.client_spec("expired", &spec);
        expect_problem(
            &host,
            &expired.dir,
            &["expired", "Your certificate expired on"],
        );

        // A client certificate from another CA.
        let foreign = pki.issue("foreign", &ClientSpec::new("alice"), &other);
        expect_problem(
            &host,
            &foreign.dir,
            &["not issued by a CA the gateway trusts"],
        );

        // Wrong key usage.
        let mut spec = ClientSpec::new("alice");
        spec.eku = vec![];
        let no_eku = pki.client_spec("no-eku", &spec);
        expect_problem(&host, &no_eku.dir, &["clientAuth"]);

        // Refused by the rules.
        let mallory = pki.client("mallory");
        expect_problem(
            &host,
            &mallory.dir,
            &["access denied by the gateway's rules", "CN=mallory"],
        );
    });

    // Revoked.
    let crl = pki.path().join("crl.pem");
    let revoked = pki.client("revoked");
    std::fs::write(
        &crl,
        pki.ca.crl(
            &[common::pki::serial_of(&revoked.cert())],
            now + Duration::days(30),
        ),
    )
    .expect("write");
    let cfg = write_config(
        &pki,
        &engine.socket,
        "[[allow]]\ncn = \"*\"\naccess = \"full\"\n",
    );
    let text = std::fs::read_to_string(&cfg).expect("read");
    std::fs::write(
        &cfg,
        text.replacen(
            "[upstream]",
            &format!(
                "crl = [{}]\n[upstream]",
                toml::Value::String(crl.display().to_string())
            ),
            1,
        ),
    )
    .expect("write");
    let with_crl = tokio::task::block_in_place(|| Process::start_with_config(&cfg));
    tokio::task::block_in_place(|| {
        expect_problem(&with_crl.docker_host(), &revoked.dir, &["revoked"])
    });

    // The engine behind the gateway is down.
    let down = tokio::task::block_in_place(|| {
        Process::start(&pki, &pki.path().join("no-engine.sock"), RULES)
    });
    tokio::task::block_in_place(|| {
        expect_problem(
            &down.docker_host(),
            &alice.dir,
            &["Docker Engine behind it is down", "cannot connect to it"],
        )
    });

    // The host is not in the server certificate: the gateway listens on 127.0.0.2.
    let cfg = write_config(&pki, &engine.socket, RULES);
    let text = std::fs::read_to_string(&cfg).expect("read");
    std::fs::write(&cfg, text.replace("127.0.0.1:0", "127.0.0.2:0")).expect("write");
    let elsewhere = tokio::task::block_in_place(|| Process::start_with_config(&cfg));
    tokio::task::block_in_place(|| {
        expect_problem(
            &elsewhere.docker_host(),
            &alice.dir,
            &[
                "`127.0.0.2` is not in the server's certificate",
                "localhost",
                "127.0.0.1",
            ],
        )
    });

    // An expired server certificate.
    let (cert, key) = server_pair_valid(&pki.ca, now - Duration::days(30), now - Duration::days(1));
    let expired_dir = pki.path().join("expired-server");
    std::fs::create_dir_all(&expired_dir).expect("mkdir");
    std::fs::write(expired_dir.join("cert.pem"), cert).expect("write");
    std::fs::write(expired_dir.join("key.pem"), key).expect("write");
    let cfg = write_config(&pki, &engine.socket, RULES);
    let text = std::fs::read_to_string(&cfg).expect("read");
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    std::fs::write(
        &cfg,
        text.replace(&q(&pki.server_cert), &q(&expired_dir.join("cert.pem")))
            .replace(&q(&pki.server_key), &q(&expired_dir.join("key.pem"))),
    )
    .expect("write");
    let stale = tokio::task::block_in_place(|| Process::start_with_config(&cfg));
    tokio::task::block_in_place(|| {
        expect_problem(
            &stale.docker_host(),
            &alice.dir,
            &["server's certificate expired on"],
        )
    });
}

#[test]
fn success_shows_the_engine_and_the_identity() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let alice = pki.client("alice");
    let (ok, text) = doctor(&gw.docker_host(), &alice.dir);
    assert!(ok, "{text}");
    assert!(text.contains("OK: Docker Engine "), "{text}");
    assert!(
        text.contains("CN=alice") && text.contains("with full access"),
        "{text}"
    );
    // DOCKER_HOST and DOCKER_CERT_PATH are the defaults.
    let out = Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .arg("doctor")
        .env("DOCKER_HOST", gw.docker_host())
        .env("DOCKER_CERT_PATH", &alice.dir)
        .output()
        .expect("doctor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

//! Intermediate CAs on both sides, as an existing PKI has them: the gateway serves a server
//! certificate issued by an intermediate (sending the chain), and accepts client certificates
//! issued by another intermediate that the client sends along; the CA bundle holds only the root.
//! With the real docker CLI, curl and engine. Revoking the client's intermediate in the root's
//! CRL refuses its clients.

mod common;

use common::cli::{curl, Docker};
use common::engine_socket;
use common::gateway::{write_config, Process};
use common::pki::{server_pair_valid, ClientSpec, Pki};
use time::OffsetDateTime;

#[test]
fn intermediates_on_both_sides() {
    let pki = Pki::new();
    let server_ica = pki.ca.intermediate("servers intermediate");
    let client_ica = pki.ca.intermediate("clients intermediate");
    let now = OffsetDateTime::now_utc();
    let (cert, key) = server_pair_valid(
        &server_ica,
        now - time::Duration::hours(1),
        now + time::Duration::days(30),
    );
    // The server chain: leaf, then the intermediate.
    std::fs::write(&pki.server_cert, format!("{cert}{}", server_ica.cert.pem())).expect("write");
    std::fs::write(&pki.server_key, key).expect("write");
    let alice = pki.issue("alice", &ClientSpec::new("alice"), &client_ica);
    let chain = std::fs::read_to_string(alice.cert()).expect("read");
    assert_eq!(
        chain.matches("BEGIN CERTIFICATE").count(),
        2,
        "the client sends its chain"
    );

    // Two CRLs: the root's (covering the intermediates) and the client intermediate's.
    let root_crl = pki.path().join("root-crl.pem");
    let ica_crl = pki.path().join("ica-crl.pem");
    let later = now + time::Duration::days(30);
    std::fs::write(&root_crl, pki.ca.crl(&[], later)).expect("write");
    std::fs::write(&ica_crl, client_ica.crl(&[], later)).expect("write");
    let config = write_config(
        &pki,
        &engine_socket(),
        "[[allow]]\ncn = \"alice\"\naccess = \"full\"\n",
    );
    let text = std::fs::read_to_string(&config).expect("read");
    let q = |p: &std::path::Path| toml::Value::String(p.display().to_string()).to_string();
    std::fs::write(
        &config,
        text.replacen(
            "[upstream]",
            &format!("crl = [{}, {}]\n[upstream]", q(&root_crl), q(&ica_crl)),
            1,
        ),
    )
    .expect("write");
    let gw = Process::start_with_config(&config);

    let out = curl(&alice)
        .args(["-f"])
        .arg(gw.url("/_ping"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Docker::new(&gw.docker_host(), &alice).ok(&["version"]);
    Docker::legacy(&gw.docker_host(), &alice).ok(&["ps"]);

    // Revoke the clients' intermediate in the root's CRL.
    let before = gw.logs().len();
    let ica_serial = {
        let (_, c) = x509_parser::parse_x509_certificate(client_ica.cert.der()).expect("x509");
        c.raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    std::fs::write(&root_crl, pki.ca.crl(&[ica_serial], later)).expect("write");
    gw.wait_reloaded(before);
    let out = curl(&alice)
        .args(["-f"])
        .arg(gw.url("/_ping"))
        .output()
        .expect("curl");
    assert!(
        !out.status.success(),
        "a client of a revoked intermediate got in"
    );
}

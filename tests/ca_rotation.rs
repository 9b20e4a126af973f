//! CA rotation: two CAs in `tls.ca`, each with its CRL in `tls.crl`. Clients of both CAs are
//! accepted, a revoked client of either is refused in the handshake, and revoking a client of
//! either cuts its already open connection at its next request (after the reload the CRL file
//! triggers), while the other CA's client keeps its connection. Once with two CAs made by
//! `dockgate certs init` (each now has a name of its own), once with two CAs that share their
//! name, as every CA made by older dockgate versions did (`O=dockgate, CN=dockgate CA`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use common::client::{config_trusting, connect_with, get};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process};
use common::pki::{serial_of, Authority, ClientCert, ClientSpec, Pki};

fn dockgate(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockgate"))
        .args(args)
        .output()
        .expect("run dockgate");
    assert!(
        out.status.success(),
        "dockgate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn q(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

/// A client config trusting every CA in `bundle` and presenting `who`'s certificate.
/// An open HTTP connection to the gateway, or `None` when the handshake fails.
async fn open(gw: &Process, bundle: &Path, who: &ClientCert) -> Option<SendRequest<Full<Bytes>>> {
    let tls = connect_with(gw.addr, config_trusting(bundle, who))
        .await
        .ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// Whether a `GET /_ping` on `sender` gets a 200 (under TLS 1.3 a refused certificate only
/// shows on the first read, as an error here).
async fn ping(sender: &mut SendRequest<Full<Bytes>>) -> bool {
    if sender.ready().await.is_err() {
        return false;
    }
    match sender.send_request(get("/_ping")).await {
        Ok(resp) => {
            let ok = resp.status() == 200;
            ok && resp.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

/// Whether a fresh connection of `who` gets an answer.
async fn admitted(gw: &Process, bundle: &Path, who: &ClientCert) -> bool {
    match open(gw, bundle, who).await {
        Some(mut s) => ping(&mut s).await,
        None => false,
    }
}

/// New connections of `good` are served, those of `revoked` refused.
async fn admits_only(gw: &Process, bundle: &Path, good: &[&ClientCert], revoked: &[&ClientCert]) {
    for who in good {
        assert!(
            admitted(gw, bundle, who).await,
            "{} was refused; logs:\n{}",
            who.name,
            gw.logs().join("\n")
        );
    }
    for who in revoked {
        assert!(
            !admitted(gw, bundle, who).await,
            "revoked {} got in",
            who.name
        );
    }
}

fn start(config: &Path) -> Process {
    tokio::task::block_in_place(|| Process::start_with_config(config))
}

/// Runs `change` (a CRL rewritten) and waits for the reload it causes.
fn reload_after(gw: &Process, change: impl FnOnce()) {
    let before = gw.logs().len();
    change();
    tokio::task::block_in_place(|| gw.wait_reloaded(before));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_cas_made_by_certs_init() {
    let engine = FakeEngine::ok();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (a_s, b_s) = (a.to_str().expect("path"), b.to_str().expect("path"));
    dockgate(&[
        "certs", "init", "--dir", a_s, "--client", "alice", "--client", "carol",
    ]);
    dockgate(&[
        "certs", "init", "--dir", b_s, "--client", "bob", "--client", "dave",
    ]);
    dockgate(&["certs", "revoke", "--dir", a_s, "--client", "carol"]);
    dockgate(&["certs", "revoke", "--dir", b_s, "--client", "dave"]);
    let subject = |dir: &Path| {
        let der = CertificateDer::from_pem_file(dir.join("ca.pem")).expect("ca");
        let (_, c) = x509_parser::parse_x509_certificate(&der).expect("x509");
        c.subject().to_string()
    };
    assert_ne!(subject(&a), subject(&b), "two CAs with one name");

    let bundle = tmp.path().join("bundle.pem");
    let both = std::fs::read_to_string(a.join("ca.pem")).expect("read")
        + &std::fs::read_to_string(b.join("ca.pem")).expect("read");
    std::fs::write(&bundle, both).expect("write");
    let config = tmp.path().join("dockgate.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\naddresses = [\"127.0.0.1:0\"]\n[tls]\nca = {}\ncert = {}\nkey = {}\ncrl = [{}, {}]\n[upstream]\nsocket = {}\n[log]\nformat = \"json\"\n[[allow]]\ncn = \"*\"\naccess = \"full\"\n",
            q(&bundle),
            q(&a.join("server-cert.pem")),
            q(&a.join("server-key.pem")),
            q(&a.join("crl.pem")),
            q(&b.join("crl.pem")),
            q(&engine.socket),
        ),
    )
    .expect("write config");
    let gw = start(&config);
    let client = |dir: &Path, name: &str| ClientCert {
        name: name.to_string(),
        dir: dir.join("clients").join(name),
    };
    let (alice, carol) = (client(&a, "alice"), client(&a, "carol"));
    let (bob, dave) = (client(&b, "bob"), client(&b, "dave"));

    admits_only(&gw, &bundle, &[&alice, &bob], &[&carol, &dave]).await;

    let mut alice_conn = open(&gw, &bundle, &alice).await.expect("alice");
    let mut bob_conn = open(&gw, &bundle, &bob).await.expect("bob");
    assert!(ping(&mut alice_conn).await && ping(&mut bob_conn).await);
    reload_after(&gw, || {
        dockgate(&["certs", "revoke", "--dir", a_s, "--client", "alice"])
    });
    assert!(
        !ping(&mut alice_conn).await,
        "revoked alice kept her open connection"
    );
    assert!(ping(&mut bob_conn).await, "bob lost his connection");
    reload_after(&gw, || {
        dockgate(&["certs", "revoke", "--dir", b_s, "--client", "bob"])
    });
    assert!(
        !ping(&mut bob_conn).await,
        "revoked bob kept his open connection"
    );
    assert!(!admitted(&gw, &bundle, &alice).await);
    assert!(!admitted(&gw, &bundle, &bob).await);
}

fn write_crl(path: &Path, ca: &Authority, revoked: &[&ClientCert]) {
    let serials: Vec<String> = revoked.iter().map(|c| serial_of(&c.cert())).collect();
    let later = OffsetDateTime::now_utc() + Duration::days(30);
    std::fs::write(path, ca.crl(&serials, later)).expect("write crl");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_cas_sharing_a_name() {
    let engine = FakeEngine::ok();
    let pki = Pki::new();
    // The same subject as the PKI's own CA, another key.
    let second = Authority::new("dockgate test CA");
    let one = std::fs::read_to_string(&pki.ca_path).expect("read");
    std::fs::write(&pki.ca_path, one + &second.cert.pem()).expect("write bundle");
    let (alice, carol) = (pki.client("alice"), pki.client("carol"));
    let (bob, dave) = (
        pki.issue("bob", &ClientSpec::new("bob"), &second),
        pki.issue("dave", &ClientSpec::new("dave"), &second),
    );
    let (crl_one, crl_two): (PathBuf, PathBuf) =
        (pki.path().join("one.pem"), pki.path().join("two.pem"));
    write_crl(&crl_one, &pki.ca, &[&carol]);
    write_crl(&crl_two, &second, &[&dave]);
    let config = write_config(
        &pki,
        &engine.socket,
        "[[allow]]\ncn = \"*\"\naccess = \"full\"\n",
    );
    let text = std::fs::read_to_string(&config).expect("read");
    let crls = format!("crl = [{}, {}]\n[upstream]", q(&crl_one), q(&crl_two));
    std::fs::write(&config, text.replacen("[upstream]", &crls, 1)).expect("write");
    let gw = start(&config);
    let bundle = pki.ca_path.clone();

    admits_only(&gw, &bundle, &[&alice, &bob], &[&carol, &dave]).await;

    let mut alice_conn = open(&gw, &bundle, &alice).await.expect("alice");
    let mut bob_conn = open(&gw, &bundle, &bob).await.expect("bob");
    assert!(ping(&mut alice_conn).await && ping(&mut bob_conn).await);
    reload_after(&gw, || write_crl(&crl_one, &pki.ca, &[&carol, &alice]));
    assert!(
        !ping(&mut alice_conn).await,
        "revoked alice kept her open connection"
    );
    assert!(ping(&mut bob_conn).await, "bob lost his connection");
    reload_after(&gw, || write_crl(&crl_two, &second, &[&dave, &bob]));
    assert!(
        !ping(&mut bob_conn).await,
        "revoked bob kept his open connection"
    );
    assert!(!admitted(&gw, &bundle, &alice).await);
    assert!(!admitted(&gw, &bundle, &bob).await);
}

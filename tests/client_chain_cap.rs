//! What a client may send is capped before path building: at most four intermediate
//! certificates, at most 32 KiB of certificates, no two different intermediates with the same
//! subject. Beyond that the handshake is refused and the log says why (unchecked, a few KB of
//! junk intermediates make one handshake explore up to 200,000 paths). A chain through one
//! intermediate still works, and so does one that sends its intermediate twice.

mod common;

use std::time::Duration;

use common::client::{config, connect_with, get};
use common::fake::FakeEngine;
use common::gateway::Process;
use common::pki::{Authority, ClientCert, ClientSpec, Pki};
use http_body_util::BodyExt;
use rcgen::{CustomExtension, ExtendedKeyUsagePurpose, KeyPair};

const ANYONE: &str = "[[allow]]\ncn = \"*\"\naccess = \"full\"\n";

/// Whether a fresh connection presenting `who` gets a 200 for `GET /_ping`.
async fn admitted(gw: &Process, pki: &Pki, who: &ClientCert) -> bool {
    let Ok(tls) = connect_with(gw.addr, config(pki, Some(who))).await else {
        return false;
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await
    else {
        return false;
    };
    tokio::spawn(conn);
    match sender.send_request(get("/_ping")).await {
        Ok(resp) => resp.status() == 200 && resp.into_body().collect().await.is_ok(),
        Err(_) => false,
    }
}

/// `who`'s certificate followed by `extra` certificates (PEM), as a new bundle.
fn with_extra(pki: &Pki, who: &ClientCert, label: &str, extra: &[String]) -> ClientCert {
    let dir = pki.path().join("clients").join(label);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut chain = std::fs::read_to_string(who.cert()).expect("read");
    for pem in extra {
        chain.push_str(pem);
    }
    std::fs::write(dir.join("cert.pem"), chain).expect("write");
    std::fs::copy(who.key(), dir.join("key.pem")).expect("copy");
    std::fs::copy(who.ca(), dir.join("ca.pem")).expect("copy");
    ClientCert {
        name: label.to_string(),
        dir,
    }
}

fn refusal_logged(gw: &Process, reason: &str) -> bool {
    gw.wait_log(Duration::from_secs(10), |v| {
        v["message"] == "client certificate refused"
            && v["reason"].as_str().is_some_and(|r| r.contains(reason))
    })
    .is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn chains_beyond_the_caps_are_refused() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, ANYONE));
    let ica = pki.ca.intermediate("clients intermediate");
    let alice = pki.issue("alice", &ClientSpec::new("alice"), &ica);
    assert!(admitted(&gw, &pki, &alice).await, "{:?}", gw.logs());
    let twice = with_extra(&pki, &alice, "alice-twice", &[ica.cert.pem()]);
    assert!(admitted(&gw, &pki, &twice).await, "{:?}", gw.logs());

    // A valid chain padded with four unrelated CA certificates: five intermediates.
    let junk: Vec<String> = (0..4)
        .map(|i| Authority::new(&format!("junk {i}")).cert.pem())
        .collect();
    let padded = with_extra(&pki, &alice, "alice-padded", &junk);
    assert!(
        !admitted(&gw, &pki, &padded).await,
        "five intermediates got in"
    );
    assert!(
        refusal_logged(&gw, "5 intermediate certificates"),
        "{:?}",
        gw.logs()
    );

    // Junk alone: a leaf and six certificates all named like the CA, none signed by it.
    let mallory = pki.issue(
        "mallory",
        &ClientSpec::new("mallory"),
        &Authority::new("dockgate test CA"),
    );
    let named_like_the_ca: Vec<String> = (0..6)
        .map(|_| Authority::new("dockgate test CA").cert.pem())
        .collect();
    let flood = with_extra(&pki, &mallory, "mallory-flood", &named_like_the_ca);
    assert!(!admitted(&gw, &pki, &flood).await);
    assert!(
        refusal_logged(&gw, "6 intermediate certificates"),
        "{:?}",
        gw.logs()
    );

    // Another certificate with the intermediate's subject, beside the real one.
    let impostor = Authority::new("clients intermediate").cert.pem();
    let ambiguous = with_extra(&pki, &alice, "alice-ambiguous", &[impostor]);
    assert!(!admitted(&gw, &pki, &ambiguous).await);
    assert!(refusal_logged(&gw, "same subject"), "{:?}", gw.logs());

    // A leaf that carries 33 KiB in an extension nobody reads.
    let key = KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "alice");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 55555, 1],
        vec![0x05; 33 * 1024],
    )];
    let big = p.signed_by(&key, &ica.issuer).expect("cert");
    let dir = pki.path().join("clients").join("alice-big");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cert.pem"), big.pem() + &ica.cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
    std::fs::write(dir.join("ca.pem"), pki.ca.cert.pem()).expect("write");
    let heavy = ClientCert {
        name: "alice-big".to_string(),
        dir,
    };
    assert!(!admitted(&gw, &pki, &heavy).await, "a 34 KiB chain got in");
    assert!(
        refusal_logged(&gw, "bytes of certificates"),
        "{:?}",
        gw.logs()
    );

    // Still in: alice's plain chain.
    assert!(admitted(&gw, &pki, &alice).await);
}

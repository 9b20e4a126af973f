//! A subject CN encoded as BMPString (UCS-2, as some Windows and Java CAs write names) reads as
//! the same name OpenSSL and Go read: `[[allow]] cn = "admin"` matches a BMPString `admin`, and
//! `/_dockgate/whoami` reports it.

mod common;

use common::client::{get, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::{ClientCert, Pki};
use rcgen::{CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, KeyPair};

/// A client certificate from the test CA whose CN is `admin` as a BMPString.
fn bmp_admin(pki: &Pki) -> ClientCert {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::default();
    p.distinguished_name.push(
        DnType::CommonName,
        DnValue::BmpString("admin".try_into().expect("bmp")),
    );
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &pki.ca.issuer).expect("cert");
    // The CN really is a BMPString: tag 0x1e, ten octets of UCS-2.
    let ucs2 = [0x1e, 10, 0, b'a', 0, b'd', 0, b'm', 0, b'i', 0, b'n'];
    assert!(cert.der().windows(ucs2.len()).any(|w| w == ucs2));
    let dir = pki.path().join("clients").join("bmp-admin");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("ca.pem"), pki.ca.cert.pem()).expect("write");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
    ClientCert {
        name: "bmp-admin".to_string(),
        dir,
    }
}

#[tokio::test]
async fn a_bmpstring_cn_matches_its_cn_rule() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let admin = bmp_admin(&pki);

    let whoami = request(gw.addr, &pki, &admin, get("/_dockgate/whoami")).await;
    assert_eq!(whoami.status, 200, "{}", whoami.text());
    let v: serde_json::Value = serde_json::from_slice(&whoami.body).expect("json");
    assert_eq!(v["cn"], "admin", "{v}");
    assert_eq!(v["access"], "full", "{v}");

    let ping = request(gw.addr, &pki, &admin, get("/_ping")).await;
    assert_eq!(ping.status, 200, "{}", ping.text());
    assert_eq!(engine.connections(), 1);
}

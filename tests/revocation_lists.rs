//! `tls.crl` edge cases, fail closed: a CRL past its next-update time refuses every client it
//! covers (and the log says so loudly at start); one close to it is warned about; a client whose
//! issuer no CRL covers is refused; an open connection is closed at once when a reload brings a
//! CRL that revokes it or has expired, and the audit log says who was cut and why.

mod common;

use common::client::{config, connect_with, get};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process};
use common::pki::{serial_of, Pki};
use http_body_util::BodyExt;
use time::OffsetDateTime;

const ANYONE: &str = "[[allow]]\ncn = \"*\"\naccess = \"full\"\n";

fn with_crl(pki: &Pki, engine: &FakeEngine, crl: &std::path::Path) -> std::path::PathBuf {
    let path = write_config(pki, &engine.socket, ANYONE);
    let text = std::fs::read_to_string(&path).expect("read");
    let crl_line = format!(
        "crl = [{}]\n[upstream]",
        toml::Value::String(crl.display().to_string())
    );
    std::fs::write(&path, text.replacen("[upstream]", &crl_line, 1)).expect("write");
    path
}

async fn refused(gw: &Process, pki: &Pki, who: &common::pki::ClientCert) -> bool {
    let Ok(tls) = connect_with(gw.addr, config(pki, Some(who))).await else {
        return true;
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await
    else {
        return true;
    };
    tokio::spawn(conn);
    match sender.send_request(get("/_ping")).await {
        Err(_) => true,
        Ok(resp) => resp.status() != 200,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_crl_refuses_and_is_reported() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let crl = pki.path().join("crl.pem");
    std::fs::write(
        &crl,
        pki.ca
            .crl(&[], OffsetDateTime::now_utc() - time::Duration::hours(1)),
    )
    .expect("write");
    let gw =
        tokio::task::block_in_place(|| Process::start_with_config(&with_crl(&pki, &engine, &crl)));
    assert!(
        refused(&gw, &pki, &pki.client("alice")).await,
        "a client got in past an expired CRL"
    );
    assert_eq!(engine.connections(), 0);
    let loud = gw.json_logs().into_iter().any(|l| {
        l["level"] == "ERROR"
            && l["message"].as_str().is_some_and(|m| m.contains("EXPIRED"))
            && l["path"] == crl.display().to_string()
    });
    assert!(loud, "no loud error about the expired CRL: {:?}", gw.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn crl_close_to_expiry_is_warned_about_and_still_works() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let crl = pki.path().join("crl.pem");
    std::fs::write(
        &crl,
        pki.ca
            .crl(&[], OffsetDateTime::now_utc() + time::Duration::days(3)),
    )
    .expect("write");
    let gw =
        tokio::task::block_in_place(|| Process::start_with_config(&with_crl(&pki, &engine, &crl)));
    assert!(!refused(&gw, &pki, &pki.client("alice")).await);
    let warned = gw
        .json_logs()
        .into_iter()
        .any(|l| l["level"] == "WARN" && (l["days_left"] == 2 || l["days_left"] == 3));
    assert!(
        warned,
        "no warning about the CRL expiring in 3 days: {:?}",
        gw.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_of_an_issuer_no_crl_covers_are_refused() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    // A CRL from an unrelated CA: nothing covers our clients' issuer.
    let other = common::pki::Authority::new("unrelated CA");
    let crl = pki.path().join("crl.pem");
    std::fs::write(
        &crl,
        other.crl(&[], OffsetDateTime::now_utc() + time::Duration::days(30)),
    )
    .expect("write");
    let gw =
        tokio::task::block_in_place(|| Process::start_with_config(&with_crl(&pki, &engine, &crl)));
    assert!(refused(&gw, &pki, &pki.client("alice")).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_cuts_open_connections_of_revoked_clients() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let crl = pki.path().join("crl.pem");
    let later = OffsetDateTime::now_utc() + time::Duration::days(30);
    std::fs::write(&crl, pki.ca.crl(&[], later)).expect("write");
    let gw =
        tokio::task::block_in_place(|| Process::start_with_config(&with_crl(&pki, &engine, &crl)));
    let (alice, bob) = (pki.client("alice"), pki.client("bob"));
    let open = |who: common::pki::ClientCert| {
        let cfg = config(&pki, Some(&who));
        let addr = gw.addr;
        async move {
            let tls = connect_with(addr, cfg).await.expect("handshake");
            let (sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .expect("http");
            tokio::spawn(conn);
            sender
        }
    };
    let status = async |s: &mut hyper::client::conn::http1::SendRequest<
        http_body_util::Full<bytes::Bytes>,
    >| {
        // None: the gateway closed the connection.
        s.ready().await.ok()?;
        let resp = s.send_request(get("/_ping")).await.ok()?;
        let code = resp.status().as_u16();
        resp.into_body().collect().await.ok()?;
        Some(code)
    };
    let mut a = open(alice.clone()).await;
    let mut b = open(bob.clone()).await;
    assert_eq!(status(&mut a).await, Some(200));
    assert_eq!(status(&mut b).await, Some(200));

    // bob is revoked; the watcher reloads.
    let before = gw.logs().len();
    std::fs::write(&crl, pki.ca.crl(&[serial_of(&bob.cert())], later)).expect("write");
    gw.wait_reloaded(before);
    assert_eq!(
        status(&mut b).await,
        None,
        "revoked bob kept his open connection"
    );
    assert_eq!(status(&mut a).await, Some(200));

    // Then the CRL expires under everyone: alice's open connection is refused too.
    let before = gw.logs().len();
    std::fs::write(
        &crl,
        pki.ca
            .crl(&[], OffsetDateTime::now_utc() - time::Duration::minutes(1)),
    )
    .expect("write");
    gw.wait_reloaded(before);
    assert_eq!(
        status(&mut a).await,
        None,
        "an expired CRL still let an open connection through"
    );
    let reasons: Vec<String> = gw
        .audit()
        .iter()
        .filter(|v| v["event"] == "cut")
        .map(|v| {
            format!(
                "{}:{}",
                v["client_cn"].as_str().unwrap_or(""),
                v["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        reasons,
        ["bob:certificate_revoked", "alice:certificate_not_trusted"],
        "the audit log says who was cut and why"
    );
}

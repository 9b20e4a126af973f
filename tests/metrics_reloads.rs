//! Reloads in the metrics: a good SIGHUP counts as `success` and moves the certificate and CRL
//! dates to the new files' (the old series go); a broken file counts as `failure`, sets
//! `dockgate_last_reload_successful` to 0 and leaves the last-success time alone.

mod common;

use std::time::Duration;

use common::fake::FakeEngine;
use common::gateway::{free_addr, write_config, Process, RULES};
use common::metrics::{scrape, Scrape};
use common::pki::{server_pair_valid, Pki};
use common::wait;
use time::OffsetDateTime;

fn server_dates(s: &Scrape) -> Vec<f64> {
    s.matching(
        "dockgate_certificate_not_after_timestamp_seconds",
        &[("kind", "server")],
    )
    .map(|x| x.value)
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reloads_are_counted_and_dates_follow_the_files() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let now = OffsetDateTime::now_utc();
    let crl = pki.path().join("crl.pem");
    let crl_due = now + time::Duration::days(20);
    std::fs::write(&crl, pki.ca.crl(&[], crl_due)).expect("crl");
    let addr = free_addr();
    let config = write_config(
        &pki,
        &engine.socket,
        &format!("[metrics]\naddress = \"{addr}\"\n\n{RULES}"),
    );
    let text = std::fs::read_to_string(&config).expect("read");
    let tls_extra = format!(
        "crl = {}\nwatch = false\n[upstream]",
        toml::Value::String(crl.display().to_string())
    );
    let good = text.replacen("[upstream]", &tls_extra, 1);
    std::fs::write(&config, &good).expect("write");
    let gw = tokio::task::block_in_place(|| Process::start_with_config(&config));

    let s = scrape(addr);
    assert_eq!(s.sum("dockgate_reloads_total", &[]), 0.0);
    assert_eq!(s.sum("dockgate_last_reload_successful", &[]), 1.0);
    let started = s.sum("dockgate_last_reload_success_timestamp_seconds", &[]);
    assert!(
        (started - now.unix_timestamp() as f64).abs() < 120.0,
        "{started}"
    );
    assert_eq!(
        s.sum(
            "dockgate_crl_next_update_timestamp_seconds",
            &[("issuer", "CN=dockgate test CA")]
        ),
        crl_due.unix_timestamp() as f64,
        "{}",
        s.text
    );
    assert_eq!(
        s.sum(
            "dockgate_certificate_not_after_timestamp_seconds",
            &[("kind", "ca"), ("subject", "CN=dockgate test CA")]
        ),
        x509_parser::parse_x509_certificate(pki.ca.cert.der())
            .expect("x509")
            .1
            .validity()
            .not_after
            .timestamp() as f64,
        "{}",
        s.text
    );
    assert_eq!(server_dates(&s).len(), 1);

    // New server certificate and CRL, then SIGHUP.
    let cert_due = now + time::Duration::days(5);
    let (cert, key) = server_pair_valid(&pki.ca, now - time::Duration::hours(1), cert_due);
    std::fs::write(&pki.server_cert, cert).expect("write");
    std::fs::write(&pki.server_key, key).expect("write");
    let crl_due = now + time::Duration::days(3);
    std::fs::write(&crl, pki.ca.crl(&[], crl_due)).expect("crl");
    let from = gw.logs().len();
    gw.signal("HUP");
    gw.wait_reloaded(from);
    let s = scrape(addr);
    assert_eq!(
        s.sum("dockgate_reloads_total", &[("result", "success")]),
        1.0
    );
    assert_eq!(
        s.sum("dockgate_reloads_total", &[("result", "failure")]),
        0.0
    );
    assert_eq!(server_dates(&s), vec![cert_due.unix_timestamp() as f64]);
    assert_eq!(
        s.sum("dockgate_crl_next_update_timestamp_seconds", &[]),
        crl_due.unix_timestamp() as f64
    );
    let reloaded = s.sum("dockgate_last_reload_success_timestamp_seconds", &[]);
    assert!(reloaded >= started);

    // A broken file: the reload fails and says so.
    std::fs::write(&config, "this is not TOML [").expect("write");
    let from = gw.logs().len();
    gw.signal("HUP");
    gw.wait_log_after(from, "reload failed");
    let s = wait::until(Duration::from_secs(10), || {
        let s = scrape(addr);
        (s.sum("dockgate_reloads_total", &[("result", "failure")]) == 1.0).then_some(s)
    })
    .expect("failure counted");
    assert_eq!(
        s.sum("dockgate_reloads_total", &[("result", "success")]),
        1.0
    );
    assert_eq!(s.sum("dockgate_last_reload_successful", &[]), 0.0);
    assert_eq!(
        s.sum("dockgate_last_reload_success_timestamp_seconds", &[]),
        reloaded
    );
    // The running state stays: its dates too.
    assert_eq!(server_dates(&s), vec![cert_due.unix_timestamp() as f64]);

    // Fixed again: success, and the flag is back to 1.
    std::fs::write(&config, &good).expect("write");
    let from = gw.logs().len();
    gw.signal("HUP");
    gw.wait_reloaded(from);
    let s = scrape(addr);
    assert_eq!(
        s.sum("dockgate_reloads_total", &[("result", "success")]),
        2.0
    );
    assert_eq!(s.sum("dockgate_last_reload_successful", &[]), 1.0);
}

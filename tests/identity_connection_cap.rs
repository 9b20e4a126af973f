//! One client certificate cannot hold every connection slot: past
//! `limits.max_connections_per_identity`, its next connection gets a Docker-style 429 naming the
//! limit, while other clients are still served; when one of its connections closes, it can open
//! another.

mod common;

use std::time::Duration;

use common::client::{connect, get, ping_ok, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_past_its_cap_gets_429_and_others_are_served() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!("[limits]\nmax_connections = 16\nmax_connections_per_identity = 2\n\n{RULES}"),
    )
    .await;
    let admin = pki.client("admin");
    let mut first = connect(gw.addr, &pki, &admin).await;
    let mut second = connect(gw.addr, &pki, &admin).await;
    assert!(ping_ok(&mut first).await);
    assert!(ping_ok(&mut second).await);

    let third = tokio::time::timeout(
        Duration::from_secs(10),
        request(gw.addr, &pki, &admin, get("/_ping")),
    )
    .await
    .expect("the third connection was neither served nor refused");
    assert_eq!(third.status, 429);
    let message = third.message();
    assert!(
        message.contains("limits.max_connections_per_identity"),
        "{message}"
    );

    let reader = request(gw.addr, &pki, &pki.client("reader"), get("/_ping")).await;
    assert_eq!(reader.status, 200, "another client was refused");

    drop(first);
    let again = common::wait::until_async(Duration::from_secs(10), || {
        let (addr, pki, admin) = (gw.addr, &pki, &admin);
        async move {
            let r = request(addr, pki, admin, get("/_ping")).await;
            (r.status == 200).then_some(())
        }
    })
    .await;
    assert!(
        again.is_some(),
        "the closed connection's place was not given back"
    );
    assert!(ping_ok(&mut second).await);
}

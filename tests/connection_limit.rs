//! Beyond `limits.max_connections`, new connections wait (they are not accepted, so no handshake
//! happens) until an open one closes; they are never accepted without bound.

mod common;

use std::time::Duration;

use common::client::{config, connect, connect_with};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;

#[tokio::test(flavor = "multi_thread")]
async fn third_connection_waits_until_one_of_two_closes() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!("[limits]\nmax_connections = 2\n\n{RULES}"),
    )
    .await;
    let admin = pki.client("admin");
    let first = connect(gw.addr, &pki, &admin).await;
    let _second = connect(gw.addr, &pki, &admin).await;

    let third = tokio::spawn(connect_with(gw.addr, config(&pki, Some(&admin))));
    // While two are open, the third is not served. (A bounded look: the opposite would be a bug.)
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past max_connections = 2"
    );

    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(20), third)
        .await
        .expect("the waiting connection was not served after a slot freed")
        .expect("join");
    assert!(served.is_ok(), "handshake failed: {:?}", served.err());
}

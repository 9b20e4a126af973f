//! A flood of unauthenticated sockets cannot lock verified clients out: while hundreds of idle
//! TCP sockets and sockets stuck half-way through a ClientHello hold the port, a verified client
//! opening a fresh connection for each request keeps getting answers. Pending handshakes have
//! their own small budget (`limits.max_handshakes`), the oldest is dropped to make room, and the
//! verified connections' `limits.max_connections` is never taken by a peer that has not
//! finished its handshake.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::{get, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// At most this many flood sockets, opened over at most `FLOOD_FOR`.
const FLOOD_SOCKETS: usize = 600;
const FLOOD_FOR: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread")]
async fn verified_client_is_served_while_idle_and_half_open_sockets_flood_the_port() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(
        &pki,
        &engine.socket,
        &format!(
            "[limits]\nmax_connections = 64\nmax_handshakes = 32\nhandshake_timeout = \"10s\"\nfirst_byte_timeout = \"5s\"\n\n{RULES}"
        ),
    )
    .await;
    let addr = gw.addr;

    // The flood: alternately an idle socket and one that sends a TLS record header announcing
    // a ClientHello and then nothing more. Every socket is kept open until the end.
    let opened = Arc::new(AtomicUsize::new(0));
    let count = opened.clone();
    let flood = tokio::spawn(async move {
        let start = Instant::now();
        let mut held = Vec::new();
        while held.len() < FLOOD_SOCKETS && start.elapsed() < FLOOD_FOR {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                continue;
            };
            if held.len() % 2 == 1 {
                let _ = s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await;
            }
            held.push(s);
            count.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Hold them until the verified client is done.
        tokio::time::sleep(FLOOD_FOR).await;
        drop(held);
    });

    // Let the flood get far past every budget (or run for a while, if the port stops taking
    // new sockets at all: that is a lockout too, and the requests below will show it).
    let _ = common::wait::until_async(Duration::from_secs(5), || {
        let n = opened.load(Ordering::Relaxed);
        async move { (n >= 200).then_some(n) }
    })
    .await;

    let admin = pki.client("admin");
    let mut served = 0;
    for _ in 0..20 {
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            request(addr, &pki, &admin, get("/_ping")),
        )
        .await
        .expect("a verified client was locked out by the flood");
        assert_eq!(reply.status, 200);
        served += 1;
    }
    assert_eq!(served, 20);
    assert!(
        opened.load(Ordering::Relaxed) > 96,
        "the flood never exceeded max_handshakes + max_connections"
    );
    flood.abort();
}

//! Ten thousand idle mutual-TLS connections: each completes its handshake and one request, then
//! stays open doing nothing; the gateway holds them all within twenty thousand descriptors
//! (idle connections hold no engine connection), keeps answering a new client, and its memory
//! stays within a loose bound per connection (the benchmark measures it exactly).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::client::{config, connect_with, ping_ok};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process};
use common::pki::Pki;
use common::proc::rss_kib;
use tokio::sync::Semaphore;

const N: usize = 10_000;

const RULES: &str = "[limits]\nmax_connections = 10500\nmax_connections_per_identity = 10500\n\n[[allow]]\ncn = \"idle\"\naccess = \"read-only\"\n";

fn raise_own_nofile() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let l = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: l.maximum,
            maximum: l.maximum,
        },
    );
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    assert!(
        now >= N as u64 + 200,
        "the test needs {} open files, has {now}",
        N + 200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_idle_connections_are_held_and_the_gateway_still_answers() {
    raise_own_nofile();
    let pki = Arc::new(Pki::new());
    let engine = FakeEngine::ok();
    let path = write_config(&pki, &engine.socket, RULES);
    let gw = tokio::task::block_in_place(|| Process::start_with_config(&path));
    let pid = gw.pid();
    let who = pki.client("idle");
    let cfg = Arc::new(config(&pki, Some(&who)));
    // Settle, then take the baseline.
    assert!(
        ping_ok(
            &mut connect_with(gw.addr, (*cfg).clone())
                .await
                .expect("connect")
        )
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);

    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(N);
    for _ in 0..N {
        let (gate, cfg, addr) = (gate.clone(), cfg.clone(), gw.addr);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            let mut tls =
                tokio::time::timeout(Duration::from_secs(60), connect_with(addr, (*cfg).clone()))
                    .await
                    .ok()?
                    .ok()?;
            ping_ok(&mut tls).await.then_some(tls)
        }));
    }
    let mut held = Vec::with_capacity(N);
    for t in tasks {
        if let Some(tls) = t.await.expect("join") {
            held.push(tls);
        }
    }
    assert_eq!(held.len(), N, "connections opened, verified and served");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before)) as f64 / N as f64;
    eprintln!(
        "gateway RSS {before} KiB -> {after} KiB with {N} idle connections: {per:.1} KiB each"
    );
    assert!(per < 48.0, "{per:.1} KiB per idle connection");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd")
        .count();
    assert!(fds < N + 300, "{fds} descriptors for {N} idle connections");

    // Still answering: a new client, and old ones.
    let mut fresh = connect_with(gw.addr, (*cfg).clone())
        .await
        .expect("connect");
    assert!(
        ping_ok(&mut fresh).await,
        "a new client is served with {N} connections held"
    );
    for tls in held.iter_mut().step_by(1000) {
        assert!(ping_ok(tls).await, "an idle connection is served again");
    }
}

//! Running out of file descriptors for real: the gateway starts under `prlimit --nofile=64`,
//! then its limit is lowered under it (`prlimit --pid`) below what it already holds plus a few.
//! Accepting and connecting to the engine fail with EMFILE; the gateway backs off instead of
//! spinning a core, keeps serving the connections it has, and once descriptors are free again it
//! serves new clients, without a restart.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::client::{config, connect_with, ping_kept, Tls};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process, RULES};
use common::pki::Pki;
use common::proc::{cpu_seconds, open_fds};

/// A verified connection that answered one ping within `limit`, or None.
async fn served(
    addr: std::net::SocketAddr,
    pki: &Pki,
    who: &common::pki::ClientCert,
    limit: Duration,
) -> Option<Tls> {
    tokio::time::timeout(limit, async {
        let mut tls = connect_with(addr, config(pki, Some(who))).await.ok()?;
        let reply = ping_kept(&mut tls).await?;
        reply.starts_with("HTTP/1.1 200").then_some(tls)
    })
    .await
    .ok()
    .flatten()
}

/// Sets the soft limit (the hard one stays 64: raising a hard limit needs CAP_SYS_RESOURCE).
fn set_nofile(pid: u32, n: usize) {
    let st = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={n}:64")])
        .status()
        .expect("prlimit");
    assert!(st.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_descriptors_the_gateway_backs_off_keeps_serving_and_recovers() {
    let pki = std::sync::Arc::new(Pki::new());
    let engine = FakeEngine::ok();
    let config_path = write_config(&pki, &engine.socket, RULES);
    let gw = tokio::task::block_in_place(|| {
        let mut command = Command::new("prlimit");
        command
            .arg("--nofile=64:64")
            .arg(env!("CARGO_BIN_EXE_dockgate"))
            .args(["serve", "--config"])
            .arg(&config_path);
        Process::spawn(command, &config_path, &[])
    });
    let pid = gw.pid();
    let (admin, reader) = (pki.client("admin"), pki.client("reader"));

    // Some connections, served and kept.
    let mut held = Vec::new();
    for i in 0..4 {
        let who = if i % 2 == 0 { &admin } else { &reader };
        held.push(
            served(gw.addr, &pki, who, Duration::from_secs(10))
                .await
                .expect("served"),
        );
    }

    // Now leave it almost nothing: new sockets cannot be accepted.
    let in_use = open_fds(pid);
    set_nofile(pid, in_use + 1);
    let mut attempts = Vec::new();
    for i in 0..8 {
        let pki = pki.clone();
        let who = if i % 2 == 0 {
            admin.clone()
        } else {
            reader.clone()
        };
        let addr = gw.addr;
        // A served client keeps its connection (and so the gateway's descriptor) until the end:
        // one that closed at once would free its descriptor for the next knock, and one spare
        // descriptor would then serve every knock in turn.
        attempts.push(tokio::spawn(async move {
            served(addr, &pki, &who, Duration::from_secs(3)).await
        }));
    }
    // While they knock, the gateway must not spin.
    let cpu_before = cpu_seconds(pid);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = (cpu_seconds(pid) - cpu_before) / t.elapsed().as_secs_f64();
    assert!(
        busy < 0.3,
        "the gateway used {:.0}% of a core while out of descriptors",
        busy * 100.0
    );
    let mut refused = 0;
    let mut admitted = Vec::new();
    for a in attempts {
        match a.await.expect("join") {
            Some(tls) => admitted.push(tls),
            None => refused += 1,
        }
    }
    assert!(
        refused > 0,
        "nothing failed: the limit was not reached ({in_use} descriptors in use)"
    );
    assert!(
        gw.wait_log(Duration::from_secs(5), |v| v["message"]
            .as_str()
            .is_some_and(|m| m.contains("backing off")))
            .is_some(),
        "no back-off warning in the log"
    );
    // The connections it has are still served (their engine connection is pooled or reopened).
    let mut still = 0;
    for tls in held.iter_mut() {
        if ping_kept(tls)
            .await
            .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        {
            still += 1;
        }
    }
    assert!(
        still >= 1,
        "no kept connection was served while out of descriptors"
    );

    // Free descriptors: close what we hold, and give it its 64 back.
    drop(held);
    drop(admitted);
    set_nofile(pid, 64);
    let mut recovered = None;
    for _ in 0..20 {
        if let Some(tls) = served(gw.addr, &pki, &admin, Duration::from_secs(3)).await {
            recovered = Some(tls);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered.is_some(),
        "the gateway did not serve new clients after descriptors were freed"
    );
    // And it is still the same process.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
}

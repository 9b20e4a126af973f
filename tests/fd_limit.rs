//! Under an open-file limit too low for the connection limits (`prlimit --nofile=100`), the
//! gateway says so at start, naming the limit and what to set, and keeps serving: it lowers its
//! connection limit to what fits, so that the client past it waits for a slot instead of getting
//! `502 Too many open files`. `dockgate check` reports the same.

mod common;

use std::process::Command;
use std::time::Duration;

use common::client::{connect, get, ping_kept, request};
use common::fake::FakeEngine;
use common::gateway::{write_config, Process, RULES};
use common::pki::Pki;

const NOFILE: &str = "--nofile=100:100";

#[tokio::test(flavor = "multi_thread")]
async fn a_low_open_file_limit_is_reported_and_clients_wait_instead_of_failing() {
    let pki = std::sync::Arc::new(Pki::new());
    let engine = FakeEngine::ok();
    let config = write_config(&pki, &engine.socket, RULES);

    let check = Command::new("prlimit")
        .arg(NOFILE)
        .arg(env!("CARGO_BIN_EXE_dockgate"))
        .args(["check", "--engine-optional", "--config"])
        .arg(&config)
        .output()
        .expect("prlimit dockgate check");
    let report = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(report.contains("open-file limit 100"), "{report}");
    assert!(report.contains("LimitNOFILE="), "{report}");

    let gw = tokio::task::block_in_place(|| {
        let mut command = Command::new("prlimit");
        command
            .arg(NOFILE)
            .arg(env!("CARGO_BIN_EXE_dockgate"))
            .args(["serve", "--config"])
            .arg(&config);
        Process::spawn(command, &config, &[])
    });
    let warning = gw
        .wait_log(Duration::from_secs(5), |v| v["open_file_limit"] == 100)
        .expect("a warning naming the open-file limit");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("LimitNOFILE")),
        "{warning}"
    );
    let fits = warning["max_connections"]
        .as_u64()
        .expect("max_connections") as usize;
    assert!((1..50).contains(&fits), "{warning}");

    // Fill every slot that fits with served keep-alive connections (two clients, so that the
    // per-identity cap is not what stops us).
    let (admin, reader) = (pki.client("admin"), pki.client("reader"));
    let mut held = Vec::new();
    for i in 0..fits {
        let who = if i % 2 == 0 { &admin } else { &reader };
        let mut tls = connect(gw.addr, &pki, who).await;
        let reply = ping_kept(&mut tls).await.expect("reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "connection {i}: {reply}");
        held.push(tls);
    }

    // The next one waits: no answer while every slot is taken (a bounded look)...
    let (addr, pki2, who) = (gw.addr, pki.clone(), admin.clone());
    let waiting = tokio::spawn(async move { request(addr, &pki2, &who, get("/_ping")).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served past the limit that fits");
    // ...and is served as soon as one closes.
    held.pop();
    let reply = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the waiting client was never served")
        .expect("join");
    assert_eq!(reply.status, 200);

    // The held connections still work, and nothing was answered with an engine failure.
    for tls in held.iter_mut() {
        let reply = ping_kept(tls).await.expect("reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    assert!(gw.audit().iter().all(|v| v["status"] != 502));
    assert!(!gw.logs().join("\n").contains("Too many open files"));
}

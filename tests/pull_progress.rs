//! A pull from the private registry streams its progress: with the layer download held half-way
//! (a gate between the engine and the registry), the client has already received `Downloading`
//! progress for it; released, the pull completes.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::cli::{curl, docker_direct};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, pull_repo, registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP relay to the registry that stops passing registry→engine bytes after `hold_after` bytes
/// until released.
struct Gate {
    addr: SocketAddr,
    held: Arc<AtomicBool>,
    release: Arc<tokio::sync::Notify>,
    released: Arc<AtomicBool>,
}

async fn gate(upstream: String, hold_after: u64) -> Gate {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = Arc::new(AtomicBool::new(false));
    let release = Arc::new(tokio::sync::Notify::new());
    let released = Arc::new(AtomicBool::new(false));
    let passed = Arc::new(AtomicU64::new(0));
    let (h, r, rd) = (held.clone(), release.clone(), released.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
                let _ = sw.shutdown().await;
            });
            let (h, r, rd, passed) = (h.clone(), r.clone(), rd.clone(), passed.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    if passed.fetch_add(n as u64, Ordering::SeqCst) + n as u64 >= hold_after
                        && !rd.load(Ordering::SeqCst)
                    {
                        h.store(true, Ordering::SeqCst);
                        let notified = r.notified();
                        if !rd.load(Ordering::SeqCst) {
                            notified.await;
                        }
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    Gate {
        addr,
        held,
        release,
        released,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_progress_arrives_while_the_pull_is_running() {
    let gate = gate(registry(), 2 * 1024 * 1024).await;
    let image = format!("{}/{}", gate.addr, pull_repo());
    let _ = docker_direct(&engine_socket(), &["rmi", "-f", &format!("{image}:latest")]);
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let mut pull = curl(&pki.client("admin"))
        .args(["-N", "-X", "POST", "-G", "--data-urlencode"])
        .arg(format!("fromImage={image}"))
        .args(["--data-urlencode", "tag=latest"])
        .arg(gw.url("/v1.41/images/create"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = pull.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });

    // Done when the client holds `Downloading` progress while the layer download is stuck at the
    // gate: the pull cannot have finished, so the progress was streamed, not buffered to the end.
    let held = gate.held.clone();
    let (progress, rx) = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let mut progress = None;
        while std::time::Instant::now() < deadline {
            if progress.is_some() && held.load(Ordering::SeqCst) {
                break;
            }
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) if line.contains("\"Downloading\"") => progress = Some(line),
                Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        (progress, rx)
    })
    .await
    .expect("join");
    let progress = progress.expect("no Downloading progress arrived");
    assert!(
        gate.held.load(Ordering::SeqCst),
        "the download never reached the gate"
    );
    assert!(!progress.contains("Download complete"), "{progress}");

    gate.released.store(true, Ordering::SeqCst);
    gate.release.notify_waiters();
    let status = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = rx.iter().collect();
        (pull.wait().expect("wait"), rest)
    })
    .await
    .expect("join");
    assert!(status.0.success());
    let last = status.1.last().cloned().unwrap_or_default();
    assert!(last.contains("Downloaded newer image"), "{last}");
    let _ = docker_direct(&engine_socket(), &["rmi", "-f", &format!("{image}:latest")]);
}

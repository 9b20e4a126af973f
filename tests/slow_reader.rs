//! A client that reads a 1 GiB download slowly holds the engine back instead of making the
//! gateway buffer it: with the engine able to send the whole GiB at once, the gateway's memory
//! stays flat while the client takes its time, and the engine is held to roughly what the client
//! has read (plus socket buffers).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::client::connect;
use common::fake::{read_head, FakeEngine};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::proc::rss_kib;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GIB: u64 = 1 << 30;

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_does_not_grow_the_gateways_memory() {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let engine = FakeEngine::start(move |mut s| {
        let counter = counter.clone();
        async move {
            read_head(&mut s).await;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nContent-Length: {GIB}\r\n\r\n");
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![7u8; 256 * 1024];
            let mut left = GIB;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if s.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                counter.fetch_add(n as u64, Ordering::Relaxed);
                left -= n as u64;
            }
        }
    });
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine.socket, RULES));
    let pid = gw.pid();
    let before = rss_kib(pid);

    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"GET /v1.41/containers/x/export HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request");
    // Read 64 KiB every 50 ms for 4 seconds: about 5 MiB of the GiB.
    let mut read = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut peak = before;
    for _ in 0..80 {
        let n = tls.read(&mut buf).await.expect("read");
        assert!(n > 0, "the download ended early");
        read += n as u64;
        peak = peak.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pushed = sent.load(Ordering::Relaxed);
    eprintln!(
        "client read {read} bytes; engine wrote {pushed}; gateway RSS {before} KiB -> peak {peak} KiB"
    );
    assert!(
        peak < before + 32 * 1024,
        "the gateway grew by {} KiB for a slow reader",
        peak - before
    );
    assert!(
        pushed < read + 64 * 1024 * 1024,
        "the engine got {pushed} bytes ahead of a client that read {read}"
    );
}

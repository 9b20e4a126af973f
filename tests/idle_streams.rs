//! Quiet streams are never cut: a streaming response (`logs -f`, `events`) and a hijacked stream
//! (`exec -it` prompt) that stay silent for longer than every configured timeout keep working.
//! (Liveness is TCP keep-alive's job.)

mod common;

use std::time::Duration;

use common::client::connect;
use common::fake::{read_head, FakeEngine};
use common::gateway::{InProcess, RULES};
use common::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every gateway timeout is 1 s; the engine stays silent for 3 s.
const TIMEOUTS: &str = "[limits]\nhandshake_timeout = \"1s\"\nheader_timeout = \"1s\"\nupstream_connect_timeout = \"1s\"\n";
const SILENCE: Duration = Duration::from_secs(3);

async fn read_until(tls: &mut (impl AsyncReadExt + Unpin), want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains(want) {
        let n = tokio::time::timeout(Duration::from_secs(20), tls.read(&mut buf))
            .await
            .expect("stalled")
            .expect("read");
        assert!(
            n > 0,
            "stream closed before `{want}`: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_streaming_response_survives() {
    let pki = Pki::new();
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nbefore\r\n")
            .await;
        tokio::time::sleep(SILENCE).await;
        let _ = s.write_all(b"5\r\nafter\r\n0\r\n\r\n").await;
    });
    let gw = InProcess::start(&pki, &engine.socket, &format!("{TIMEOUTS}\n{RULES}")).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"GET /v1.41/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    read_until(&mut tls, "before").await;
    read_until(&mut tls, "after").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_hijacked_stream_survives() {
    let pki = Pki::new();
    let engine = FakeEngine::start(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n$ ")
            .await;
        let mut buf = [0u8; 64];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let gw = InProcess::start(&pki, &engine.socket, &format!("{TIMEOUTS}\n{RULES}")).await;
    let mut tls = connect(gw.addr, &pki, &pki.client("admin")).await;
    tls.write_all(b"POST /exec/x/start HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    read_until(&mut tls, "$ ").await;
    tokio::time::sleep(SILENCE).await;
    tls.write_all(b"ls\n")
        .await
        .expect("typing after a long pause");
    read_until(&mut tls, "ls\n").await;
}

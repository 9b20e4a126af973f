//! A scripted fake Docker Engine on a temporary unix socket, for what the real engine cannot do
//! on demand: die mid-stream, stall, half-close, send garbage. It counts connections, so tests can
//! prove that nothing reached the engine.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

pub struct FakeEngine {
    pub socket: PathBuf,
    connections: Arc<AtomicUsize>,
    _dir: TempDir,
}

impl FakeEngine {
    /// Serves each connection with `handler`.
    pub fn start<F, Fut>(handler: F) -> FakeEngine
    where
        F: Fn(UnixStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let dir = tempfile::Builder::new()
            .prefix("dockgate-fake")
            .tempdir()
            .expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).expect("bind fake engine");
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            let handler = Arc::new(handler);
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handler(stream));
            }
        });
        FakeEngine {
            socket,
            connections,
            _dir: dir,
        }
    }

    /// An engine that answers every request with `200 {"ok":true}` on keep-alive connections.
    pub fn ok() -> FakeEngine {
        FakeEngine::start(|mut s| async move {
            while read_head(&mut s).await.is_some() {
                let body = "{\"ok\":true}";
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        })
    }

    /// An engine that answers one `/_ping` per connection, as `dockgate check` asks it.
    pub fn pinging() -> FakeEngine {
        FakeEngine::start(|mut s| async move {
            read_head(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
                .await;
        })
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one request head (through the blank line). Bodies are not read.
pub async fn read_head(s: &mut UnixStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Answers a hijack the way the engine does (`101 UPGRADED`, raw stream) and echoes what the
/// client sends until it is done.
pub async fn echo_upgrade(s: &mut UnixStream) {
    if s
        .write_all(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

//! Connection workers: one single-threaded tokio runtime per CPU the process may use, each on a
//! thread of its own. The accept loop hands each accepted connection to the next worker in turn,
//! and everything that connection does (handshake, requests, engine connections, hijacked
//! streams) stays on that worker: no work stealing, no cross-thread wake-ups on the request path.
//!
//! Measured on one pinned CPU, this costs 22.1 µs of gateway CPU per keep-alive request where
//! tokio's multi-threaded scheduler costs 25.6 µs (bench/README.md).
//! Without [`start`] (in-process tests), connections run on the caller's runtime.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::runtime::Handle;

struct Workers {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

static WORKERS: OnceLock<Workers> = OnceLock::new();

/// Starts `n` workers (at least one).
pub fn start(n: usize) -> std::io::Result<()> {
    let mut handles = Vec::new();
    for i in 0..n.max(1) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        handles.push(rt.handle().clone());
        std::thread::Builder::new()
            .name(format!("dockgate-w{i}"))
            .spawn(move || rt.block_on(std::future::pending::<()>()))?;
    }
    let _ = WORKERS.set(Workers {
        handles,
        next: AtomicUsize::new(0),
    });
    Ok(())
}

/// How many workers the process should start: one per CPU it may run on.
pub fn default_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs `task` (one connection) on the next worker, or on the current runtime without workers.
pub fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match WORKERS.get() {
        Some(w) => {
            let i = w.next.fetch_add(1, Ordering::Relaxed) % w.handles.len();
            w.handles[i].spawn(task);
        }
        None => {
            tokio::spawn(task);
        }
    }
}

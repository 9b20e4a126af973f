//! Draining on shutdown: which connections are still open, and telling them to finish.
//!
//! hyper's graceful shutdown covers a connection only until it is upgraded; after the `101`
//! hyper lets go and the splice runs on its own. So every connection, from accept until its last
//! byte (splice included), holds a [`TrackGuard`], and draining waits for the count to reach zero.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

#[derive(Debug, Default)]
struct Inner {
    open: AtomicUsize,
    idle: Notify,
}

/// Counts open connections.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    inner: Arc<Inner>,
}

/// Held by one open connection; dropping it closes the connection's account.
#[derive(Debug)]
pub struct TrackGuard {
    inner: Arc<Inner>,
}

impl Tracker {
    pub fn guard(&self) -> TrackGuard {
        self.inner.open.fetch_add(1, Ordering::SeqCst);
        TrackGuard {
            inner: self.inner.clone(),
        }
    }

    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// Resolves once no connection is open.
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TrackGuard {
    fn drop(&mut self) {
        if self.inner.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

/// Where the gateway is in its life; connections watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// Finish what is in flight; take no new requests.
    Draining,
    /// The grace period is over: close at once.
    Cut,
}

/// The phase as each connection sees it.
#[derive(Debug, Clone)]
pub struct DrainSignal {
    rx: watch::Receiver<Phase>,
}

impl DrainSignal {
    pub fn channel() -> (watch::Sender<Phase>, DrainSignal) {
        let (tx, rx) = watch::channel(Phase::Serving);
        (tx, DrainSignal { rx })
    }

    pub fn phase(&self) -> Phase {
        *self.rx.borrow()
    }

    /// Resolves once the phase is `at_least` (at once if it already is).
    pub async fn reached(&mut self, at_least: Phase) {
        let _ = self.rx.wait_for(|p| *p >= at_least).await;
    }
}

/// What an open connection holds until its last byte: its place under
/// `limits.max_connections` and its account with the drain tracker.
#[derive(Debug)]
pub struct ConnectionSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _track: TrackGuard,
}

impl ConnectionSlot {
    pub fn new(permit: tokio::sync::OwnedSemaphorePermit, track: TrackGuard) -> ConnectionSlot {
        ConnectionSlot {
            _permit: permit,
            _track: track,
        }
    }
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every connection finished within the grace period.
    Drained,
    /// The grace period ran out with this many connections still open.
    Cut(usize),
}

/// Waits for `tracker` to go idle, at most `grace`.
pub async fn wait(tracker: &Tracker, grace: Duration) -> DrainOutcome {
    match tokio::time::timeout(grace, tracker.idle()).await {
        Ok(()) => DrainOutcome::Drained,
        Err(_) => DrainOutcome::Cut(tracker.open()),
    }
}

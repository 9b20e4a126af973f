//! The budget of connections still in the TLS handshake (`limits.max_handshakes`), kept apart
//! from the verified connections' `limits.max_connections`.
//!
//! An unauthenticated peer costs a socket and a task until its handshake ends. If those peers
//! shared the verified clients' slots, a few hundred idle sockets would lock every client out. So
//! a new connection first takes a place in this smaller budget; when the budget is full, the
//! oldest pending handshake is dropped to make room. A flood of idle or stalled sockets then only
//! pushes out other pending sockets, while a real client, whose handshake takes a few
//! milliseconds, gets through (each pending socket is also cut after
//! `limits.first_byte_timeout` of silence and `limits.handshake_timeout` in all).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How often, at most, the log says that pending handshakes are being dropped.
const WARN_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Pending {
    next: u64,
    /// Pending handshakes, oldest first; sending on one drops it.
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
    last_warning: Option<Instant>,
}

/// The handshake budget.
#[derive(Debug)]
pub struct Handshakes {
    capacity: usize,
    pending: Mutex<Pending>,
    evicted: AtomicU64,
}

/// A connection's place in the handshake budget, given back when dropped.
#[derive(Debug)]
pub struct PendingHandshake {
    seq: u64,
    owner: Arc<Handshakes>,
    /// Resolves when the budget needed this place for a newer connection.
    pub evicted: oneshot::Receiver<()>,
}

impl Handshakes {
    pub fn new(capacity: usize) -> Arc<Handshakes> {
        Arc::new(Handshakes {
            capacity: capacity.max(1),
            pending: Mutex::new(Pending {
                next: 0,
                waiting: BTreeMap::new(),
                last_warning: None,
            }),
            evicted: AtomicU64::new(0),
        })
    }

    /// Takes a place for a new connection, dropping the oldest pending one if the budget is full.
    pub fn admit(self: &Arc<Self>) -> PendingHandshake {
        let (tx, rx) = oneshot::channel();
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        while p.waiting.len() >= self.capacity {
            if let Some((_, oldest)) = p.waiting.pop_first() {
                let _ = oldest.send(());
                dropped += 1;
            }
        }
        if dropped > 0 {
            let total = self.evicted.fetch_add(dropped, Ordering::Relaxed) + dropped;
            let now = Instant::now();
            if p.last_warning.is_none_or(|t| now - t >= WARN_EVERY) {
                p.last_warning = Some(now);
                tracing::warn!(
                    limit = self.capacity,
                    dropped_total = total,
                    "handshake budget full; dropping the oldest pending connections (limits.max_handshakes)"
                );
            }
        }
        let seq = p.next;
        p.next += 1;
        p.waiting.insert(seq, tx);
        PendingHandshake {
            seq,
            owner: self.clone(),
            evicted: rx,
        }
    }

    /// Connections in the handshake now.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting
            .len()
    }

    /// Pending handshakes dropped so far to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }
}

impl Drop for PendingHandshake {
    fn drop(&mut self) {
        let mut p = self.owner.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.waiting.remove(&self.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::Handshakes;

    #[test]
    fn a_full_budget_drops_the_oldest() {
        let h = Handshakes::new(2);
        let mut first = h.admit();
        let mut second = h.admit();
        assert_eq!(h.pending(), 2);
        let mut third = h.admit();
        assert!(
            first.evicted.try_recv().is_ok(),
            "the oldest was not dropped"
        );
        assert!(second.evicted.try_recv().is_err());
        assert!(third.evicted.try_recv().is_err());
        assert_eq!(h.pending(), 2);
        drop(second);
        assert_eq!(h.pending(), 1);
        let _fourth = h.admit();
        assert!(third.evicted.try_recv().is_err(), "a place was free");
        assert_eq!(h.evicted(), 1);
    }
}

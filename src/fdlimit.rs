//! The open-file limit (RLIMIT_NOFILE) against the connection limits.
//!
//! Each verified connection holds one descriptor, and one more for the engine while a request of
//! it is in flight (a stream such as `logs -f` or an `exec` session holds it for as long as it
//! runs); idle engine connections wait in a small shared pool. Each pending handshake holds one,
//! each verified connection queued for a slot one (the queue is as long as the handshake
//! budget), and the process needs a few of its own (listeners, logs, the files it reads on
//! reload). So the worst case, every connection streaming at once, needs two per connection. At
//! start the soft limit is raised as far as the hard limit allows; if the worst case still does
//! not fit, engine connections get what is left after one descriptor per connection (at least a
//! fifth of it), and only if that is too little are the connection limits lowered too. Past the
//! engine budget, requests wait for an engine connection to free up (up to
//! `limits.upstream_connect_timeout`, then 503), instead of failing with `Too many open files`.

use crate::config::Limits;

/// Descriptors kept for the process itself.
pub const RESERVED: u64 = 32;

/// What the limits come to under the open-file limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The soft limit in force (after raising it, when `raise` was asked).
    pub soft: u64,
    pub hard: u64,
    /// The soft limit the configured limits need.
    pub needed: u64,
    pub max_connections: usize,
    pub max_handshakes: usize,
    /// Engine connections open at once (in flight, streaming, or idle in the pool).
    pub max_engine_connections: usize,
}

impl Budget {
    /// Whether the configured limits had to be lowered.
    pub fn lowered(&self, limits: &Limits) -> bool {
        self.max_connections < limits.max_connections || self.max_handshakes < limits.max_handshakes
    }

    /// Whether not every connection can hold an engine connection at once.
    pub fn engine_limited(&self) -> bool {
        self.max_engine_connections < self.max_connections
    }
}

/// The soft limit `limits` need.
pub fn needed(limits: &Limits) -> u64 {
    2 * limits.max_connections as u64 + 2 * limits.max_handshakes as u64 + RESERVED
}

/// Reads the open-file limit (raising the soft limit towards what `limits` need when `raise`)
/// and fits the limits under it.
pub fn budget(limits: &Limits, raise: bool) -> Budget {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let needed = needed(limits);
    let current = getrlimit(Resource::Nofile);
    let mut soft = current.current.unwrap_or(u64::MAX);
    let hard = current.maximum.unwrap_or(u64::MAX);
    if raise && soft < needed {
        let want = needed.min(hard);
        let raised = Rlimit {
            current: Some(want),
            maximum: current.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => soft = want,
            Err(e) => tracing::debug!(error = %e, "cannot raise the open-file limit"),
        }
    }
    fit(limits, soft, hard)
}

/// Fits `limits` under a soft limit of `soft` descriptors.
pub fn fit(limits: &Limits, soft: u64, hard: u64) -> Budget {
    let needed = needed(limits);
    let (max_connections, max_handshakes, max_engine_connections) = if soft >= needed {
        (
            limits.max_connections,
            limits.max_handshakes,
            limits.max_connections,
        )
    } else {
        // Handshakes and their queue get at most a quarter of what is left; each connection
        // one descriptor, engine connections the rest but at least a fifth of it.
        let spare = soft.saturating_sub(RESERVED).max(4);
        let handshakes = (limits.max_handshakes as u64).min(spare / 8).max(1);
        let rest = spare.saturating_sub(2 * handshakes).max(2);
        let connections = (limits.max_connections as u64).min(rest - rest / 5).max(1);
        let engine = (rest - connections).max(1);
        (
            connections as usize,
            handshakes as usize,
            (engine as usize).min(limits.max_connections),
        )
    };
    Budget {
        soft,
        hard,
        needed,
        max_connections,
        max_handshakes,
        max_engine_connections,
    }
}

#[cfg(test)]
mod tests {
    use super::{fit, needed};
    use crate::config::Limits;

    #[test]
    fn enough_descriptors_keep_the_limits() {
        let limits = Limits::default();
        let b = fit(&limits, 1 << 20, 1 << 20);
        assert_eq!(b.max_connections, limits.max_connections);
        assert_eq!(b.max_handshakes, limits.max_handshakes);
        assert!(!b.lowered(&limits));
    }

    #[test]
    fn a_low_limit_lowers_them_to_fit() {
        let limits = Limits::default();
        let b = fit(&limits, 1024, 1024);
        assert!(b.lowered(&limits));
        let used = b.max_connections as u64
            + b.max_engine_connections as u64
            + 2 * b.max_handshakes as u64
            + super::RESERVED;
        assert!(used <= 1024, "{b:?} uses {used}");
        assert!(b.max_connections >= 500, "{b:?}");
        assert!(b.max_engine_connections >= b.max_connections / 5, "{b:?}");
        assert_eq!(b.needed, needed(&limits));
        let tiny = fit(&limits, 16, 16);
        assert!(tiny.max_connections >= 1 && tiny.max_handshakes >= 1);
        assert!(tiny.max_engine_connections >= 1);
    }

    #[test]
    fn ten_thousand_connections_fit_in_twenty_thousand_descriptors() {
        let limits = Limits {
            max_connections: 10_000,
            ..Limits::default()
        };
        let b = fit(&limits, 20_000, 20_000);
        assert_eq!(b.max_connections, 10_000, "{b:?}");
        assert!(!b.lowered(&limits));
        assert!(b.engine_limited());
        assert!(b.max_engine_connections > 9_000, "{b:?}");
    }
}

//! The open-file limit (RLIMIT_NOFILE) against the connection limits.
//!
//! Each proxied connection holds two descriptors (the client's socket and the engine's), each
//! pending handshake one, each verified connection queued for a slot one (the queue is as long
//! as the handshake budget), and the process needs a few of its own (listeners, logs, the files it
//! reads on reload). With too low a limit, clients past it would get `502 Too many open files`
//! and accept would fail; so at start the soft limit is raised as far as the hard limit allows,
//! and if it still does not fit, the connection limits are lowered to what fits (new clients
//! then wait for a slot instead of failing), with a warning that says what to set.

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
}

impl Budget {
    /// Whether the configured limits had to be lowered.
    pub fn lowered(&self, limits: &Limits) -> bool {
        self.max_connections < limits.max_connections || self.max_handshakes < limits.max_handshakes
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
    let (max_connections, max_handshakes) = if soft >= needed {
        (limits.max_connections, limits.max_handshakes)
    } else {
        // Handshakes and the queue get at most a quarter of what is left, connections the rest.
        let spare = soft.saturating_sub(RESERVED).max(4);
        let handshakes = (limits.max_handshakes as u64).min(spare / 8).max(1);
        let connections = ((spare - 2 * handshakes) / 2).max(1);
        (
            (connections as usize).min(limits.max_connections),
            handshakes as usize,
        )
    };
    Budget {
        soft,
        hard,
        needed,
        max_connections,
        max_handshakes,
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
        let used = 2 * b.max_connections as u64 + 2 * b.max_handshakes as u64 + super::RESERVED;
        assert!(used <= 1024, "{b:?} uses {used}");
        assert!(b.max_connections >= 300, "{b:?}");
        assert_eq!(b.needed, needed(&limits));
        let tiny = fit(&limits, 16, 16);
        assert!(tiny.max_connections >= 1 && tiny.max_handshakes >= 1);
    }
}

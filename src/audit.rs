//! The audit trail: one event per request on the `dockgate::audit` target, with stable fields.
//!
//! Fields: `client_cn`, `fingerprint`, `peer`, `method`, `path` (no query string), `status`,
//! `bytes_in`, `bytes_out`, `duration_ms`, `upgraded`, `decision`, `access`, and `outcome`
//! (`complete`, or `aborted` when the exchange ended early). Headers and bodies are never logged:
//! `X-Registry-Auth` and `X-Registry-Config` carry registry passwords.
//!
//! The event is written when the exchange ends (the response body is finished or dropped, or the
//! spliced stream closes), so bytes and duration are final.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::config::Access;

/// The tracing target of audit events.
pub const TARGET: &str = "dockgate::audit";

/// What policy made of the request, as written in the `decision` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDecision {
    Allow,
    Deny,
    /// Refused before policy: the request itself was malformed.
    Invalid,
}

impl AuditDecision {
    fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allow => "allow",
            AuditDecision::Deny => "deny",
            AuditDecision::Invalid => "invalid",
        }
    }
}

/// Counters shared between the request, the response and a spliced stream.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    status: AtomicU16,
    upgraded: AtomicBool,
    complete: AtomicBool,
}

impl Counters {
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }
    pub fn set_upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }
    pub fn set_complete(&self) {
        self.complete.store(true, Ordering::Relaxed);
    }
}

/// One request's audit record; the event is emitted when the last holder drops it.
#[derive(Debug)]
pub struct AuditRecord {
    pub client_cn: String,
    pub fingerprint: String,
    pub peer: SocketAddr,
    pub method: String,
    pub path: String,
    pub decision: AuditDecision,
    pub access: Option<Access>,
    pub counters: Arc<Counters>,
    start: Instant,
}

impl AuditRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_cn: &str,
        fingerprint: &str,
        peer: SocketAddr,
        method: &str,
        path: &str,
        decision: AuditDecision,
        access: Option<Access>,
        start: Instant,
    ) -> AuditRecord {
        AuditRecord {
            client_cn: client_cn.to_string(),
            fingerprint: fingerprint.to_string(),
            peer,
            method: method.to_string(),
            path: path.to_string(),
            decision,
            access,
            counters: Arc::new(Counters::default()),
            start,
        }
    }
}

impl Drop for AuditRecord {
    fn drop(&mut self) {
        let c = &self.counters;
        tracing::info!(
            target: TARGET,
            client_cn = %self.client_cn,
            fingerprint = %self.fingerprint,
            peer = %self.peer,
            method = %self.method,
            path = %self.path,
            status = c.status.load(Ordering::Relaxed),
            bytes_in = c.bytes_in.load(Ordering::Relaxed),
            bytes_out = c.bytes_out.load(Ordering::Relaxed),
            duration_ms = self.start.elapsed().as_millis() as u64,
            upgraded = c.upgraded.load(Ordering::Relaxed),
            decision = self.decision.as_str(),
            access = self.access.map(Access::as_str).unwrap_or("none"),
            outcome = if c.complete.load(Ordering::Relaxed) { "complete" } else { "aborted" },
            "request"
        );
    }
}

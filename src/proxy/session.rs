//! One verified client connection, and the registry of them all: who the client is, the chain it
//! presented, and the switch that cuts the connection the moment the client loses its access.
//!
//! Access is re-checked at three moments, against the state current at that moment:
//! - on every request: the certificate chain against the current CA bundle, validity period and
//!   CRLs (the handshake verifier is run again, its result cached until the state changes or the
//!   next expiry that could change it), then the rules;
//! - after every reload, for every open connection (keep-alive, streaming response, hijacked
//!   splice): the same checks, plus whether the exchange in flight would still be allowed; the
//!   connections that fail are cut;
//! - at the certificate's notAfter: its connection is cut, streams included, without waiting for
//!   a request or a reload.
//!
//! The registry also enforces `limits.max_connections_per_identity`: one client certificate
//! cannot hold every connection slot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use http::Method;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::CertificateError;
use tokio::sync::watch;

use super::{CertIds, Proxy};
use crate::audit::{self, Counters};
use crate::policy::{Decision, RequestView};
use crate::shutdown::{ConnectionSlot, DrainSignal};
use crate::tls::{ClientIdentity, RevocationProblem};

/// A verified chain is checked again at least this often, even when nothing changed, so that
/// the expiry of a CA certificate in the bundle is noticed.
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// Why a client lost its access. `as_str` is the stable reason code of the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutReason {
    /// The certificate's notAfter has passed.
    Expired,
    /// The certificate (or one in its chain) is revoked.
    Revoked,
    /// The chain no longer verifies against the CA bundle and CRLs in force.
    Untrusted,
    /// No `[[allow]]` entry matches the certificate any more.
    NoRule,
    /// The exchange in flight is no longer allowed by the rules.
    Forbidden,
}

impl CutReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CutReason::Expired => "certificate_expired",
            CutReason::Revoked => "certificate_revoked",
            CutReason::Untrusted => "certificate_not_trusted",
            CutReason::NoRule => "no_matching_rule",
            CutReason::Forbidden => "request_no_longer_allowed",
        }
    }

    /// What the client is told on a refused request.
    pub fn message(self) -> &'static str {
        match self {
            CutReason::Expired => "this client certificate has expired",
            CutReason::Revoked => "this client certificate has been revoked",
            CutReason::Untrusted => {
                "this client certificate is no longer trusted by the gateway (CA bundle or revocation lists changed)"
            }
            CutReason::NoRule => {
                "this client certificate is not allowed to use this gateway"
            }
            CutReason::Forbidden => "this request is no longer allowed for this client",
        }
    }
}

/// A refusal of the chain, with the detail for the log.
#[derive(Debug, Clone)]
pub struct ChainRefusal {
    pub reason: CutReason,
    pub detail: String,
}

/// The exchange a connection has in flight, as policy saw it.
#[derive(Debug)]
struct Active {
    method: Method,
    path: String,
    query: Option<String>,
    upgrade: bool,
    has_body: bool,
    /// Alive exactly as long as the exchange (its audit record holds the other references).
    counters: Weak<Counters>,
}

/// One client connection: who it is, and what it may do.
///
/// It holds the connection's slot (its place under `limits.max_connections` and its account with
/// the drain tracker) and its registration (its place under
/// `limits.max_connections_per_identity`). A hijacked stream keeps its session alive after hyper
/// has let go of the connection, so upgraded connections count until their splice ends.
#[derive(Debug)]
pub struct Session {
    pub identity: ClientIdentity,
    /// The client's certificate and the intermediates it sent, for revocation checks.
    pub chain: CertIds,
    /// The same, DER, leaf first: what the verifier checks again.
    certs: Vec<CertificateDer<'static>>,
    /// Who the audit log says sent each request.
    pub client: Arc<audit::Client>,
    /// The identity's name as logs show it.
    pub log_name: String,
    pub peer: SocketAddr,
    /// The earliest notAfter among the certificates the client presented.
    pub expires_at: SystemTime,
    /// The state generation the chain was last verified against, and until when that holds.
    verified: Mutex<(u64, SystemTime)>,
    current: Mutex<Option<Active>>,
    cut: watch::Sender<Option<CutReason>>,
    pub(super) drain: DrainSignal,
    _slot: Option<ConnectionSlot>,
    registration: Mutex<Option<Registration>>,
}

impl Session {
    /// A session for a verified chain (`certs`, leaf first, as the handshake presented it).
    pub fn new(
        identity: ClientIdentity,
        certs: Vec<CertificateDer<'static>>,
        peer: SocketAddr,
        drain: DrainSignal,
        slot: Option<ConnectionSlot>,
    ) -> Session {
        let chain = CertIds::of(&certs);
        let expires_at = certs
            .iter()
            .filter_map(|c| crate::tls::not_after(c))
            .min()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let client = Arc::new(audit::Client {
            cn: identity.display_name(),
            fingerprint: identity.fingerprint.clone(),
            peer,
        });
        Session {
            log_name: identity.display_name(),
            identity,
            chain,
            certs,
            client,
            peer,
            expires_at,
            verified: Mutex::new((u64::MAX, SystemTime::UNIX_EPOCH)),
            current: Mutex::new(None),
            cut: watch::channel(None).0,
            drain,
            _slot: slot,
            registration: Mutex::new(None),
        }
    }

    /// Gives the session its place in the registry (released when the session ends).
    pub fn hold(&self, registration: Registration) {
        if let Ok(mut r) = self.registration.lock() {
            *r = Some(registration);
        }
    }

    /// Records that the handshake verified the chain against the state of `generation`, so the
    /// first request does not verify it again (a reload since then still makes it).
    pub fn verified_by_handshake(&self, generation: u64, crls_valid_until: Option<SystemTime>) {
        let until = self.trust_until(SystemTime::now(), crls_valid_until);
        if let Ok(mut v) = self.verified.lock() {
            *v = (generation, until);
        }
    }

    /// How long a verification done at `now` holds: until the next check is due, the chain
    /// expires, or a CRL of the state runs out.
    fn trust_until(&self, now: SystemTime, crls_valid_until: Option<SystemTime>) -> SystemTime {
        let until = (now + RECHECK_EVERY).min(self.expires_at);
        crls_valid_until.map_or(until, |crl| until.min(crl))
    }

    /// Checks the presented chain against `proxy`'s CA bundle, validity and CRLs at `now`.
    /// The verifier's answer is reused until the state changes, `RECHECK_EVERY` passes, or a CRL
    /// of the state runs out; `force` checks again regardless (after a reload).
    pub fn verify_chain(
        &self,
        proxy: &Proxy,
        now: SystemTime,
        force: bool,
    ) -> Result<(), ChainRefusal> {
        let refuse = |reason, detail: String| ChainRefusal { reason, detail };
        if now >= self.expires_at {
            return Err(refuse(
                CutReason::Expired,
                "the certificate's notAfter has passed".into(),
            ));
        }
        if let Err(problem) = proxy.revocations.check(
            &self.chain.leaf,
            &self.chain.intermediates,
            time::OffsetDateTime::from(now),
        ) {
            let reason = match problem {
                RevocationProblem::Revoked | RevocationProblem::IntermediateRevoked => {
                    CutReason::Revoked
                }
                _ => CutReason::Untrusted,
            };
            return Err(refuse(reason, problem.to_string()));
        }
        let generation = proxy.generation;
        if !force {
            if let Ok(v) = self.verified.lock() {
                if v.0 == generation && now < v.1 {
                    return Ok(());
                }
            }
        }
        let Some((leaf, intermediates)) = self.certs.split_first() else {
            return Err(refuse(CutReason::Untrusted, "no certificate".into()));
        };
        let since_epoch = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        if let Err(e) = proxy.verifier.verify_client_cert(
            leaf,
            intermediates,
            UnixTime::since_unix_epoch(since_epoch),
        ) {
            let reason = match &e {
                rustls::Error::InvalidCertificate(CertificateError::Expired)
                | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
                    CutReason::Expired
                }
                rustls::Error::InvalidCertificate(CertificateError::Revoked) => CutReason::Revoked,
                _ => CutReason::Untrusted,
            };
            return Err(refuse(reason, e.to_string()));
        }
        let until = self.trust_until(now, proxy.crls_valid_until);
        if let Ok(mut v) = self.verified.lock() {
            *v = (generation, until);
        }
        Ok(())
    }

    /// Everything a reload must re-check for an open connection: the chain, a matching rule,
    /// and the exchange in flight.
    pub fn recheck(&self, proxy: &Proxy, now: SystemTime) -> Result<(), ChainRefusal> {
        self.verify_chain(proxy, now, true)?;
        if proxy.policy.access_for(&self.identity).is_none() {
            return Err(ChainRefusal {
                reason: CutReason::NoRule,
                detail: "no [[allow]] entry matches the certificate".into(),
            });
        }
        let current = self.current.lock().ok();
        if let Some(active) = current.as_ref().and_then(|c| c.as_ref()) {
            if active.counters.strong_count() > 0 {
                let view = RequestView {
                    method: &active.method,
                    path: &active.path,
                    query: active.query.as_deref(),
                    upgrade: active.upgrade,
                    has_body: active.has_body,
                };
                if !matches!(
                    proxy.policy.decide(&self.identity, &view),
                    Decision::Allow(_)
                ) {
                    return Err(ChainRefusal {
                        reason: CutReason::Forbidden,
                        detail: format!("{} {}", active.method, active.path),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records the exchange now in flight (requests on one connection come one at a time).
    pub fn begin(&self, view: &RequestView<'_>, counters: &Arc<Counters>) {
        if let Ok(mut c) = self.current.lock() {
            *c = Some(Active {
                method: view.method.clone(),
                path: view.path.to_string(),
                query: view.query.map(str::to_string),
                upgrade: view.upgrade,
                has_body: view.has_body,
                counters: Arc::downgrade(counters),
            });
        }
    }

    /// Cuts the connection (and its stream, if any): the first reason sticks. Writes the
    /// audit `cut` event and marks the exchange in flight as cut.
    pub fn cut(&self, refusal: &ChainRefusal) {
        let first = self.cut.send_if_modified(|r| {
            if r.is_some() {
                return false;
            }
            *r = Some(refusal.reason);
            true
        });
        if !first {
            return;
        }
        let reason = refusal.reason.as_str();
        if let Some(counters) = self
            .current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().and_then(|a| a.counters.upgrade()))
        {
            counters.set_cut(reason);
        }
        audit::connection_cut(&self.client, reason, &refusal.detail);
    }

    /// Resolves when the connection must be closed: it was cut, or its certificate expired.
    pub async fn cut_signal(&self) -> CutReason {
        let mut rx = self.cut.subscribe();
        let left = self
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let waited = tokio::select! {
            r = rx.wait_for(Option::is_some) => Some(r.ok().and_then(|r| *r)),
            _ = tokio::time::sleep(left) => None,
        };
        match waited {
            Some(Some(reason)) => reason,
            // The sender lives in this session, so this cannot happen; never resolve.
            Some(None) => std::future::pending().await,
            None => {
                let refusal = ChainRefusal {
                    reason: CutReason::Expired,
                    detail: "the certificate's notAfter has passed".into(),
                };
                self.cut(&refusal);
                CutReason::Expired
            }
        }
    }
}

/// Why a verified connection was not registered.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this client certificate already has {limit} connections open (limits.max_connections_per_identity)")]
pub struct TooManyConnections {
    pub limit: usize,
}

#[derive(Debug, Default)]
struct Table {
    sessions: HashMap<u64, Weak<Session>>,
    per_identity: HashMap<String, usize>,
}

/// Every open verified connection, by identity.
#[derive(Debug, Default)]
pub struct Sessions {
    table: Mutex<Table>,
    next: AtomicU64,
}

/// A session's place in the registry; dropping it gives the place back.
#[derive(Debug)]
pub struct Registration {
    id: u64,
    fingerprint: String,
    owner: Arc<Sessions>,
}

impl Sessions {
    /// Registers a connection of `fingerprint`, unless it already has `limit` open.
    pub fn register(
        self: &Arc<Self>,
        fingerprint: &str,
        limit: usize,
    ) -> Result<Registration, TooManyConnections> {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let count = t.per_identity.entry(fingerprint.to_string()).or_default();
        if *count >= limit {
            return Err(TooManyConnections { limit });
        }
        *count += 1;
        Ok(Registration {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            fingerprint: fingerprint.to_string(),
            owner: self.clone(),
        })
    }

    /// Makes `session` (holding `registration`) visible to [`Sessions::recheck`].
    pub fn insert(&self, registration: Registration, session: &Arc<Session>) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.sessions.insert(registration.id, Arc::downgrade(session));
        drop(t);
        session.hold(registration);
    }

    /// Re-checks every open connection against `proxy` (just swapped in by a reload) and cuts
    /// those that no longer pass. Returns how many were cut.
    pub fn recheck(&self, proxy: &Proxy) -> usize {
        let live: Vec<Arc<Session>> = {
            let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
            t.sessions.values().filter_map(Weak::upgrade).collect()
        };
        let now = SystemTime::now();
        let mut cut = 0;
        for session in live {
            if let Err(refusal) = session.recheck(proxy, now) {
                session.cut(&refusal);
                cut += 1;
            }
        }
        cut
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut t = self.owner.table.lock().unwrap_or_else(|e| e.into_inner());
        t.sessions.remove(&self.id);
        if let Some(n) = t.per_identity.get_mut(&self.fingerprint) {
            *n -= 1;
            if *n == 0 {
                t.per_identity.remove(&self.fingerprint);
            }
        }
    }
}

//! The request path: check the path, ask policy, forward to the engine, stream the answer back,
//! or hand a `101` over to the splice.
//!
//! Hijacks sent without `Upgrade` (older clients, `curl -X POST .../attach?stream=1`): the engine
//! answers `200` with a raw stream and no length. dockgate forwards such a request like any other
//! and streams the engine's output back (chunked) until the engine closes; the client cannot send
//! stdin this way, because HTTP gives a request no channel after its body. Clients that need stdin
//! send `Upgrade: tcp`, as the docker CLI always does.

mod body;
mod headers;
mod response;
mod upgrade;
mod upstream;
mod whoami;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;

use crate::audit::{AuditDecision, AuditRecord};
use crate::policy::{path, Decision, Policy, RequestView};
use crate::shutdown::{ConnectionSlot, DrainSignal, Phase};
use crate::tls::{CertId, ClientIdentity, Revocations};

pub use body::{RequestBody, ResponseBody};
pub use response::{docker_error, ProxyError};
pub use upstream::{Reuse, Upstream, UpstreamError};

/// What every request shares: the rules, the way to the engine, and the request-head limit.
#[derive(Debug)]
pub struct Proxy {
    pub policy: Policy,
    /// The CRLs, checked on every request (not only at the handshake).
    pub revocations: Arc<Revocations>,
    pub upstream: Upstream,
    /// `limits.max_header_bytes`. The HTTP parser's own hard cap sits above it (see `server.rs`),
    /// so that heads just over the limit get a Docker-style 431 naming the limit.
    pub max_header_bytes: usize,
}

/// Issuer and serial of a client's certificate and of the intermediates it sent.
#[derive(Debug, Clone, Default)]
pub struct CertIds {
    pub leaf: CertId,
    pub intermediates: Vec<CertId>,
}

/// The size of the request head as sent: request line, header lines, blank line.
fn head_size<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len() + req.uri().to_string().len() + "  HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + ": \r\n".len())
        .sum();
    line + headers + 2
}

/// One client connection: who it is, and the engine connection it may reuse.
///
/// It also holds the connection's slot (its place under `limits.max_connections` and its account
/// with the drain tracker). A hijacked stream keeps its session alive after hyper has let go of
/// the connection, so upgraded connections count until their splice ends.
#[derive(Debug)]
pub struct Session {
    pub identity: ClientIdentity,
    /// The client's certificate and the intermediates it sent, for revocation checks.
    pub chain: CertIds,
    /// The identity's name as logs show it.
    pub log_name: String,
    pub peer: SocketAddr,
    engine: Mutex<Option<upstream::Sender>>,
    drain: DrainSignal,
    _slot: Option<ConnectionSlot>,
}

impl Session {
    pub fn new(
        identity: ClientIdentity,
        chain: CertIds,
        peer: SocketAddr,
        drain: DrainSignal,
        slot: Option<ConnectionSlot>,
    ) -> Session {
        Session {
            log_name: identity.display_name(),
            identity,
            chain,
            peer,
            engine: Mutex::new(None),
            drain,
            _slot: slot,
        }
    }
}

impl Proxy {
    /// Handles one request from `session`. Never fails: every error becomes a response.
    pub async fn handle(
        self: Arc<Self>,
        session: Arc<Session>,
        req: Request<Incoming>,
    ) -> Result<Response<ResponseBody>, Infallible> {
        let start = Instant::now();
        let raw_path = req.uri().path().to_string();
        let record = |decision, access| {
            AuditRecord::new(
                &session.log_name,
                &session.identity.fingerprint,
                session.peer,
                req.method().as_str(),
                &raw_path,
                decision,
                access,
                start,
            )
        };
        if let Err(problem) = self.revocations.check(
            &session.chain.leaf,
            &session.chain.intermediates,
            time::OffsetDateTime::now_utc(),
        ) {
            let err = ProxyError::Revoked(problem);
            return Ok(err.into_response(record(AuditDecision::Deny, None)));
        }
        let size = head_size(&req);
        if size > self.max_header_bytes {
            let err = ProxyError::HeadTooLarge {
                size,
                limit: self.max_header_bytes,
            };
            return Ok(err.into_response(record(AuditDecision::Invalid, None)));
        }
        let decoded = match path::canonical(&raw_path) {
            Ok(p) => p,
            Err(e) => {
                return Ok(ProxyError::from(e).into_response(record(AuditDecision::Invalid, None)))
            }
        };
        let upgrade = req.headers().get(header::UPGRADE).cloned();
        let view = RequestView {
            method: req.method(),
            path: &decoded,
            upgrade: upgrade.is_some(),
        };
        if decoded == whoami::PATH && req.method() == http::Method::GET {
            let access = self.policy.access_for(&session.identity);
            let record = record(AuditDecision::Allow, access);
            return Ok(whoami::response(&session.identity, access, record));
        }
        let decision = self.policy.decide(&session.identity, &view);
        let refusal = match decision {
            Decision::Allow(_) => None,
            Decision::UnknownClient => Some(ProxyError::UnknownClient),
            Decision::Forbidden(_) => Some(ProxyError::Forbidden {
                method: req.method().to_string(),
                path: raw_path.clone(),
            }),
        };
        if let Some(err) = refusal {
            return Ok(err.into_response(record(AuditDecision::Deny, decision.access())));
        }
        let record = record(AuditDecision::Allow, decision.access());
        Ok(self.forward(session, req, upgrade, record).await)
    }

    async fn forward(
        &self,
        session: Arc<Session>,
        mut req: Request<Incoming>,
        upgrade: Option<HeaderValue>,
        record: AuditRecord,
    ) -> Response<ResponseBody> {
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
        let upstream_req = match self.upstream_request(req, upgrade, &record) {
            Ok(r) => r,
            Err(e) => return e.into_response(record),
        };
        let mut resp = match self.send(&session, upstream_req).await {
            Ok(r) => r,
            Err(e) => return e.into_response(record),
        };
        record.counters.set_status(resp.status().as_u16());
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return ProxyError::UnexpectedUpgrade.into_response(record);
            };
            record.counters.set_upgraded();
            let engine_upgrade = hyper::upgrade::on(&mut resp);
            let mut drain = session.drain.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = upgrade::splice(client_upgrade, engine_upgrade, record) => {}
                    _ = drain.reached(Phase::Cut) => {}
                }
                drop(session);
            });
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, ResponseBody::empty());
        }
        let (mut parts, body) = resp.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, ResponseBody::stream(body, record))
    }

    /// Sends `req` on the client's kept engine connection, or a new one, and keeps the connection
    /// for the next request. A kept connection that turns out closed before the request went out
    /// (the engine restarted in between) is replaced once, transparently.
    async fn send(
        &self,
        session: &Session,
        req: Request<RequestBody>,
    ) -> Result<Response<Incoming>, ProxyError> {
        let (mut sender, reuse) = self.upstream.sender(&session.engine).await?;
        let resp = match sender.try_send_request(req).await {
            Ok(resp) => resp,
            Err(mut e) => match (e.take_message(), reuse) {
                (Some(req), Reuse::Kept) => {
                    tracing::debug!(error = %e.error(), "kept engine connection was closed; retrying on a new one");
                    sender = self.upstream.connect().await?;
                    sender
                        .send_request(req)
                        .await
                        .map_err(|e| self.upstream.request_error(e))?
                }
                _ => return Err(self.upstream.request_error(e.into_error()).into()),
            },
        };
        upstream::keep(&session.engine, sender);
        Ok(resp)
    }

    fn upstream_request(
        &self,
        req: Request<Incoming>,
        upgrade: Option<HeaderValue>,
        record: &AuditRecord,
    ) -> Result<Request<RequestBody>, ProxyError> {
        let (mut parts, body) = req.into_parts();
        // Origin-form towards the engine; the query passes byte for byte.
        let mut target = http::uri::Parts::default();
        target.path_and_query = parts.uri.path_and_query().cloned();
        parts.uri = Uri::from_parts(target).map_err(|_| ProxyError::BadTarget)?;
        parts.version = http::Version::HTTP_11;
        headers::strip_hop_by_hop(&mut parts.headers);
        if let Some(up) = upgrade {
            headers::set_upgrade(&mut parts.headers, up);
        }
        if !parts.headers.contains_key(header::HOST) {
            parts
                .headers
                .insert(header::HOST, HeaderValue::from_static("docker"));
        }
        Ok(Request::from_parts(
            parts,
            RequestBody::new(body, record.counters.clone()),
        ))
    }
}

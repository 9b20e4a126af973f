//! The request path: check the path, ask policy, forward to the engine, stream the answer back,
//! or hand a `101` over to the splice.
//!
//! Hijacks sent without `Upgrade` (older clients, `curl -X POST .../attach?stream=1`): the engine
//! answers `200` with a raw stream and no length. dockgate forwards such a request like any other
//! and streams the engine's output back (chunked) until the engine closes; the client cannot send
//! stdin this way, because HTTP gives a request no channel after its body. Clients that need stdin
//! send `Upgrade: tcp`, as the docker CLI always does.

mod body;
pub mod budget;
mod headers;
mod response;
mod session;
mod target;
mod upgrade;
mod upstream;
pub mod whoami;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use hyper::body::Incoming;
use rustls::pki_types::CertificateDer;

use crate::audit::{AuditDecision, AuditRecord, Target};
use crate::policy::{path, BodyOutcome, Decision, Denial, Policy, RequestView};
use crate::shutdown::Phase;
use crate::tls::{CertId, ClientVerifier, Revocations};

pub use body::{RequestBody, ResponseBody};
pub use response::{docker_error, ProxyError};
pub use session::{ChainRefusal, CutReason, Registration, Session, Sessions, TooManyConnections};
pub use upstream::{Reuse, Upstream, UpstreamError};

/// What every request shares: the rules, the way to the engine, and the request-head limit.
#[derive(Debug)]
pub struct Proxy {
    pub policy: Policy,
    /// The handshake's client verifier: open connections are checked with it again.
    pub verifier: Arc<ClientVerifier>,
    /// The CRLs, checked on every request (not only at the handshake).
    pub revocations: Arc<Revocations>,
    /// When the first CRL of this state runs out (a verified chain must be checked again then).
    pub crls_valid_until: Option<SystemTime>,
    /// Tells states apart: a chain verified against one is verified again against the next.
    pub generation: u64,
    pub upstream: Upstream,
    /// `limits.max_header_bytes`. The HTTP parser's own hard cap sits above it (see `server.rs`),
    /// so that heads just over the limit get a Docker-style 431 naming the limit.
    pub max_header_bytes: usize,
    /// `limits.max_inspected_body`: the largest body read whole for policy.
    pub max_inspected_body: usize,
    /// `limits.body_timeout`: the time a body read whole for policy has to arrive.
    pub body_timeout: std::time::Duration,
    /// `limits.max_inspected_total`: the bytes of such bodies held at once, across reloads.
    pub body_budget: budget::BodyBudget,
}

/// Issuer and serial of a client's certificate and of the intermediates it sent.
#[derive(Debug, Clone, Default)]
pub struct CertIds {
    pub leaf: CertId,
    pub intermediates: Vec<CertId>,
}

impl CertIds {
    /// The ids of a presented chain, leaf first.
    pub fn of(chain: &[CertificateDer<'_>]) -> CertIds {
        CertIds {
            leaf: chain
                .first()
                .and_then(|c| CertId::from_der(c))
                .unwrap_or_default(),
            intermediates: chain
                .iter()
                .skip(1)
                .filter_map(|c| CertId::from_der(c))
                .collect(),
        }
    }
}

/// Counts a failure to reach the engine in the metrics.
fn engine_failed(e: &ProxyError) {
    if let (Some(m), ProxyError::Upstream(u)) = (crate::metrics::get(), e) {
        if let Some(kind) = u.metric_kind() {
            m.engine_error(kind);
            m.engine_contact(false);
        }
    }
}

/// Puts on record the decision and the rule and field of the denial that made it.
fn decided_by(r: &mut AuditRecord, decision: AuditDecision, d: &Denial) {
    r.decision = decision;
    r.rule = d.rule.clone();
    r.field = d.field.clone().unwrap_or_default();
}

/// What a forwarded request still carries of its checks.
struct Checks {
    /// The body policy read, to be forwarded exactly.
    inspected: Option<(Bytes, budget::Held)>,
    /// A create whose new container must be judged before its answer goes back.
    created: Option<crate::config::Access>,
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

impl Proxy {
    /// Handles one request from `session`. Never fails: every error becomes a response.
    pub async fn handle(
        self: Arc<Self>,
        session: Arc<Session>,
        req: Request<Incoming>,
    ) -> Result<Response<ResponseBody>, Infallible> {
        let start = Instant::now();
        let raw_path = req.uri().path().to_string();
        let decoded = path::canonical(&raw_path);
        let target = Target::new(
            req.method().as_str(),
            &raw_path,
            decoded.as_deref().ok(),
            req.uri().query(),
        );
        let record = |decision, access| {
            AuditRecord::new(
                session.client.clone(),
                target.clone(),
                decision,
                access,
                start,
            )
        };
        // A request refused before policy still counts for its client's allow entry in the
        // metrics (its access stays "none" in the audit line and the metrics' `profile`).
        let refused = |decision| {
            let mut r = record(decision, None);
            let entry = self.policy.entry_for(&session.identity);
            r.attribute(entry.map(|e| e.name.clone()), None);
            r
        };
        if let Err(refusal) = session.verify_chain(&self, SystemTime::now(), false) {
            let err = ProxyError::NoLongerAdmitted(refusal.reason);
            return Ok(err.into_response(refused(AuditDecision::Deny)));
        }
        let size = head_size(&req);
        if size > self.max_header_bytes {
            let err = ProxyError::HeadTooLarge {
                size,
                limit: self.max_header_bytes,
            };
            return Ok(err.into_response(refused(AuditDecision::Invalid)));
        }
        let decoded = match decoded {
            Ok(p) => p,
            Err(e) => return Ok(ProxyError::from(e).into_response(refused(AuditDecision::Invalid))),
        };
        let upgrade = req.headers().get(header::UPGRADE).cloned();
        // hyper never upgrades an HTTP/1.0 connection: the engine would hijack it and the client
        // would only see the connection close.
        if upgrade.is_some() && req.version() < http::Version::HTTP_11 {
            let err = ProxyError::UpgradeOnHttp10;
            return Ok(err.into_response(refused(AuditDecision::Invalid)));
        }
        let method = req.method().clone();
        let query = req.uri().query().map(str::to_string);
        let view = RequestView {
            method: &method,
            path: &decoded,
            query: query.as_deref(),
            upgrade: upgrade.is_some(),
            has_body: !req.body().is_end_stream(),
        };
        if decoded == whoami::PATH && req.method() == http::Method::GET {
            let entry = self.policy.entry_for(&session.identity);
            let access = entry.map(|e| e.access.clone());
            let mut record = record(AuditDecision::Allow, access.clone());
            record.attribute(entry.map(|e| e.name.clone()), None);
            return Ok(whoami::response(&session.identity, access, record));
        }
        let verdict = self.policy.judge(&session.identity, &view);
        let access = verdict.decision.access().cloned();
        let noted = |decision, denial: Option<&Denial>| {
            let mut r = record(decision, access.clone());
            r.route = verdict.route_text();
            r.attribute(verdict.identity.clone(), verdict.route);
            if let Some(d) = denial {
                decided_by(&mut r, decision, d);
            }
            r
        };
        match (&verdict.decision, &verdict.denial) {
            (Decision::Allow(_), _) => {}
            (Decision::UnknownClient, _) => {
                let r = noted(AuditDecision::Deny, None);
                return Ok(ProxyError::UnknownClient.into_response(r));
            }
            (Decision::Forbidden(_), denial) => {
                let r = noted(AuditDecision::Deny, denial.as_ref());
                let err = match denial {
                    Some(d) if d.rule != "read-only" => ProxyError::Denied(d.message.clone()),
                    _ => ProxyError::Forbidden {
                        method: req.method().to_string(),
                        path: raw_path.clone(),
                    },
                };
                return Ok(err.into_response(r));
            }
        }
        let mut audit_decision = if verdict.report {
            AuditDecision::WouldDeny
        } else {
            AuditDecision::Allow
        };
        let mut denial = verdict.denial.clone();
        let mut req = req;
        let mut inspected = None;
        // A create that takes volumes from other containers: the container it makes is judged
        // too (`check_created`).
        let mut created_check = None;
        // The target the path names first, then the volumes a create body mounts.
        let mut targets: Vec<_> = verdict.target.clone().into_iter().collect();
        if let (Some(kind), Some(access)) = (verdict.inspect, access.as_ref()) {
            let (bytes, held) = match self.receive_body(&mut req).await {
                Ok(b) => b,
                Err(err) => return Ok(err.into_response(noted(AuditDecision::Deny, None))),
            };
            match self.policy.body_outcome(access, kind, &bytes) {
                BodyOutcome::Pass(more) => {
                    let from = |t: &_| matches!(t, crate::policy::target::Target::VolumesFrom(_));
                    if more.iter().any(from) {
                        created_check = Some(access.clone());
                    }
                    targets.extend(more);
                }
                BodyOutcome::WouldDeny(d) => {
                    audit_decision = AuditDecision::WouldDeny;
                    denial = Some(d);
                }
                BodyOutcome::Deny(d) => {
                    let r = noted(AuditDecision::Deny, Some(&d));
                    let err = if d.unreadable {
                        ProxyError::BodyUnreadable(d.message)
                    } else {
                        ProxyError::Denied(d.message)
                    };
                    return Ok(err.into_response(r));
                }
            }
            inspected = Some((bytes, held));
        }
        // What the request acts on, as the engine describes it (`policy::target`).
        if let Some(access) = access.as_ref() {
            for (i, t) in targets.into_iter().enumerate() {
                let named = i == 0 && verdict.target.is_some();
                let name = match &t {
                    crate::policy::target::Target::Container(n) if named => Some(n.clone()),
                    _ => None,
                };
                let pin = match self.check_target(access, t, named).await {
                    Ok(target::Checked::Pass { id }) => id,
                    Ok(target::Checked::WouldDeny { denial: d, id }) => {
                        audit_decision = AuditDecision::WouldDeny;
                        denial = denial.or(Some(d));
                        id
                    }
                    Ok(target::Checked::Deny(d)) => {
                        let r = noted(AuditDecision::Deny, Some(&d));
                        return Ok(ProxyError::Denied(d.message).into_response(r));
                    }
                    Ok(target::Checked::Unresolved { status, message }) => {
                        let r = noted(AuditDecision::Allow, None);
                        let err = ProxyError::EngineSaid { status, message };
                        return Ok(err.into_response(r));
                    }
                    Err(e) => {
                        engine_failed(&e);
                        return Ok(e.into_response(noted(AuditDecision::Allow, None)));
                    }
                };
                // The engine acts on exactly the container that was judged.
                if let (Some(name), Some(id), Some(route)) = (name, pin, verdict.route) {
                    let pinned = crate::policy::target::pinned_path(route, &decoded, &name, &id)
                        .map(|p| match &query {
                            Some(q) => format!("{p}?{q}"),
                            None => p,
                        })
                        .and_then(|pq| Uri::try_from(pq).ok());
                    match pinned {
                        Some(uri) => *req.uri_mut() = uri,
                        None => {
                            let r = noted(AuditDecision::Invalid, None);
                            return Ok(ProxyError::BadTarget.into_response(r));
                        }
                    }
                }
            }
        }
        let record = noted(audit_decision, denial.as_ref());
        if audit_decision == AuditDecision::WouldDeny {
            tracing::warn!(
                client = %session.log_name,
                route = %record.route,
                rule = %record.rule,
                field = %record.field,
                "report mode: forwarding a request the profile would deny"
            );
        }
        session.begin(&view, &record.counters);
        let checks = Checks {
            inspected,
            created: created_check,
        };
        if checks.created.is_none() {
            return Ok(self.forward(session, req, upgrade, checks, record).await);
        }
        // The engine finishes a create whether or not the client waits for the answer: the
        // check of what it made must finish too, in a task of its own that a client closing the
        // connection cannot cancel.
        let me = self.clone();
        let task =
            tokio::spawn(async move { me.forward(session, req, upgrade, checks, record).await });
        Ok(match task.await {
            Ok(resp) => resp,
            Err(_) => response::docker_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "dockgate: the create could not be checked",
                None,
            ),
        })
    }

    /// Receives the body of a request whose body policy must read: whole, at most
    /// `limits.max_inspected_body`, and with framing that leaves no doubt about where it ends.
    /// The whole body must arrive within `limits.body_timeout`, and the bodies held at once fit
    /// in `limits.max_inspected_total`.
    async fn receive_body(
        &self,
        req: &mut Request<Incoming>,
    ) -> Result<(Bytes, budget::Held), ProxyError> {
        let headers = req.headers();
        if headers.contains_key(header::TRANSFER_ENCODING)
            && headers.contains_key(header::CONTENT_LENGTH)
        {
            return Err(ProxyError::BodyFraming);
        }
        let limit = self.max_inspected_body;
        if req.body().size_hint().lower() > limit as u64 {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        let received = body::collect(req.body_mut(), limit, &self.body_budget);
        match tokio::time::timeout(self.body_timeout, received).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(body::CollectError::TooLarge)) => Err(ProxyError::BodyTooLarge { limit }),
            Ok(Err(body::CollectError::Busy)) => Err(ProxyError::InspectionBusy {
                total: self.body_budget.total(),
            }),
            Ok(Err(body::CollectError::Read(_))) => Err(ProxyError::BodyFraming),
            Err(_) => Err(ProxyError::BodyTimeout {
                timeout: self.body_timeout,
            }),
        }
    }

    async fn forward(
        &self,
        session: Arc<Session>,
        mut req: Request<Incoming>,
        upgrade: Option<HeaderValue>,
        checks: Checks,
        mut record: AuditRecord,
    ) -> Response<ResponseBody> {
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
        let upstream_req = match self.upstream_request(req, upgrade, checks.inspected, &record) {
            Ok(r) => r,
            Err(e) => return e.into_response(record),
        };
        let (mut resp, sender) = match self.send(upstream_req).await {
            Ok(r) => r,
            Err(e) => {
                engine_failed(&e);
                return e.into_response(record);
            }
        };
        if let Some(m) = crate::metrics::get() {
            m.engine_contact(true);
        }
        record.counters.set_status(resp.status().as_u16());
        if let Some(access) = checks.created {
            if resp.status() == StatusCode::CREATED {
                return self.after_create(resp, sender, &access, record).await;
            }
        }
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return ProxyError::UnexpectedUpgrade.into_response(record);
            };
            record.counters.set_upgraded();
            record.start();
            let engine_upgrade = hyper::upgrade::on(&mut resp);
            let mut drain = session.drain.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = upgrade::splice(client_upgrade, engine_upgrade, record) => {}
                    _ = drain.reached(Phase::Cut) => {}
                    reason = session.cut_signal() => {
                        tracing::info!(reason = reason.as_str(), "hijacked stream cut");
                    }
                }
                drop(session);
            });
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, ResponseBody::empty());
        }
        let (mut parts, body) = resp.into_parts();
        // A response of unknown length is a stream (logs -f, events, pull progress) that may
        // run for hours: it is on record from its start.
        if !parts.headers.contains_key(header::CONTENT_LENGTH) && !body.is_end_stream() {
            record.start();
        }
        headers::strip_hop_by_hop(&mut parts.headers);
        let body = ResponseBody::stream(body, record).returning(sender, self.upstream.pool.clone());
        Response::from_parts(parts, body)
    }

    /// The engine's answer to a create whose container must be judged as the engine made it
    /// (`check_created`): passed on, or the container removed and the create refused.
    async fn after_create(
        &self,
        resp: Response<Incoming>,
        sender: upstream::Sender,
        access: &crate::config::Access,
        mut record: AuditRecord,
    ) -> Response<ResponseBody> {
        let (mut parts, body) = resp.into_parts();
        let checked = match self.read_created(body, sender).await {
            (bytes, true) => self.check_created(access, &bytes).await.map(|d| (bytes, d)),
            (partial, false) => {
                self.remove_unread(access, &partial).await;
                Err(ProxyError::Unverifiable(
                    "the engine's answer to the create could not be read whole".into(),
                ))
            }
        };
        let (bytes, outcome) = match checked {
            Ok(c) => c,
            Err(e) => {
                engine_failed(&e);
                return e.into_response(record);
            }
        };
        match outcome {
            Some(target::Checked::Deny(d)) => {
                decided_by(&mut record, AuditDecision::Deny, &d);
                return ProxyError::Denied(d.message).into_response(record);
            }
            Some(target::Checked::WouldDeny { denial: d, .. }) if record.rule.is_empty() => {
                decided_by(&mut record, AuditDecision::WouldDeny, &d);
            }
            _ => {}
        }
        headers::strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, ResponseBody::full(bytes, Some(record)))
    }

    /// Sends `req` on an idle engine connection from the pool, or a new one; the connection
    /// goes back to the pool with the end of the response body. A pooled connection that turns
    /// out closed before the request went out (the engine restarted in between) is replaced
    /// once, transparently.
    async fn send(
        &self,
        req: Request<RequestBody>,
    ) -> Result<(Response<Incoming>, upstream::Sender), ProxyError> {
        let (mut sender, reuse) = self.upstream.sender().await?;
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
        Ok((resp, sender))
    }

    fn upstream_request(
        &self,
        req: Request<Incoming>,
        upgrade: Option<HeaderValue>,
        inspected: Option<(Bytes, budget::Held)>,
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
        let body = match inspected {
            // Exactly the bytes policy read, framed by a length.
            Some((bytes, held)) => {
                parts.headers.remove(header::TRANSFER_ENCODING);
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                RequestBody::full(bytes, held, record.counters.clone())
            }
            None => RequestBody::new(body, record.counters.clone()),
        };
        Ok(Request::from_parts(parts, body))
    }
}

//! The audit trail: events with target `dockgate::audit` and stable fields, written to the log
//! by [`sink`] whatever `log.level` or `RUST_LOG` say (they never pass the log filter).
//!
//! Every exchange writes an `end` event when it is over (the response body is finished or
//! dropped, or the spliced stream closes), so bytes and duration are final. Exchanges that can
//! last for hours also write a `start` event the moment they begin: upgraded (hijacked) streams
//! at the engine's `101`, and streamed responses (those without a `Content-Length`: `logs -f`,
//! `events`, pull progress) when the engine's response head arrives. So an `exec -it` session is
//! on record while it runs, and after a crash. A connection closed by the gateway because its
//! client lost its access (reload, revocation, expiry) writes a `cut` event naming the reason.
//!
//! Fields: `event` (`start`, `end`, `cut`), `client_cn`, `fingerprint`, `peer`, `method`,
//! `path` (percent-decoded, as the engine routes it), `raw_path` (as sent, only when it differs),
//! `query` (as sent, with credentials redacted; empty when none), `status`, `bytes_in`,
//! `bytes_out`, `duration_ms`, `upgraded`, `decision` (`allow`, `deny`, `would_deny` for what a
//! report-mode profile let through, `invalid`), `access` (`full`, `read-only` or the profile's
//! name), `route` (the engine route reached, `POST /containers/{id}/start`; empty where the
//! engine would answer 404), `rule` and `field` (the configuration key and body field that
//! refused the request, or would have), `outcome` (`complete`,
//! `aborted`, or `cut`) and `reason` (why a stream was cut; empty otherwise). Headers and bodies
//! are never logged: `X-Registry-Auth` and `X-Registry-Config` carry registry passwords.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::config::Access;
use crate::metrics::labels::{self as metric, RouteLabel};
use crate::metrics::ByteCounters;
use crate::policy::routes::Route;

pub mod line;
pub mod sink;

use line::Value;

/// The tracing target of audit events.
pub const TARGET: &str = "dockgate::audit";

/// What policy made of the request, as written in the `decision` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDecision {
    Allow,
    Deny,
    /// A report-mode profile would have refused it; it was forwarded.
    WouldDeny,
    /// Refused before policy: the request itself was malformed.
    Invalid,
}

impl AuditDecision {
    fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allow => "allow",
            AuditDecision::Deny => "deny",
            AuditDecision::WouldDeny => "would_deny",
            AuditDecision::Invalid => "invalid",
        }
    }
}

/// Counters shared between the request, the response and a spliced stream.
#[derive(Debug, Default)]
pub struct Counters {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// The client's byte counters in the metrics, once its allow entry is known.
    metered: OnceLock<ByteCounters>,
    status: AtomicU16,
    upgraded: AtomicBool,
    complete: AtomicBool,
    /// Set when the gateway cut the exchange because the client lost its access.
    cut: OnceLock<&'static str>,
}

impl Counters {
    /// Bytes received from the client (request body, or its side of a hijacked stream).
    pub fn add_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(m) = self.metered.get() {
            m.received.inc_by(n as u64);
        }
    }

    /// Bytes sent to the client (response body, or the engine's side of a hijacked stream).
    pub fn add_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(m) = self.metered.get() {
            m.sent.inc_by(n as u64);
        }
    }

    /// From now on, bytes also count for this allow entry in the metrics (and those counted so
    /// far are added).
    pub fn meter(&self, counters: ByteCounters) {
        counters
            .received
            .inc_by(self.bytes_in.load(Ordering::Relaxed));
        counters.sent.inc_by(self.bytes_out.load(Ordering::Relaxed));
        let _ = self.metered.set(counters);
    }

    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }
    pub fn set_upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }
    pub fn set_complete(&self) {
        self.complete.store(true, Ordering::Relaxed);
    }
    /// Records that the gateway cut this exchange, and why (a stable reason code).
    pub fn set_cut(&self, reason: &'static str) {
        let _ = self.cut.set(reason);
    }
}

/// Who sent the request: the fields every audit event of a connection shares.
#[derive(Debug, Clone)]
pub struct Client {
    pub cn: String,
    pub fingerprint: String,
    pub peer: SocketAddr,
}

/// What was asked, as the audit log records it.
#[derive(Debug, Clone)]
pub struct Target {
    pub method: String,
    /// Percent-decoded (the raw path when it cannot be decoded).
    pub path: String,
    /// The path as sent, when it differs from `path`.
    pub raw_path: Option<String>,
    /// The query as sent, credentials redacted (see [`redact_query`]).
    pub query: String,
}

impl Target {
    /// The target of a request whose path decoded to `decoded` (`None`: it did not decode).
    pub fn new(method: &str, raw_path: &str, decoded: Option<&str>, query: Option<&str>) -> Target {
        let path = decoded.unwrap_or(raw_path).to_string();
        Target {
            method: method.to_string(),
            raw_path: (path != raw_path).then(|| raw_path.to_string()),
            path,
            query: query.map(redact_query).unwrap_or_default(),
        }
    }
}

/// One request's audit record; the `end` event is written when the last holder drops it.
#[derive(Debug)]
pub struct AuditRecord {
    pub client: Arc<Client>,
    pub target: Target,
    pub decision: AuditDecision,
    pub access: Option<Access>,
    /// The engine route the request reached, in pattern syntax (`POST /containers/{id}/start`).
    pub route: String,
    /// The configuration key that refused it (or would have, in report mode).
    pub rule: String,
    /// The body field that decided, when a body rule did.
    pub field: String,
    /// The name of the `[[allow]]` entry that matched, for the metrics.
    pub identity: Option<Arc<str>>,
    /// The engine route, for the metrics.
    pub route_ref: Option<&'static Route>,
    pub counters: Arc<Counters>,
    start: Instant,
    /// The gauge of open streams this exchange counts in, from its `start` event on.
    open: Option<prometheus_client::metrics::gauge::Gauge>,
}

impl AuditRecord {
    pub fn new(
        client: Arc<Client>,
        target: Target,
        decision: AuditDecision,
        access: Option<Access>,
        start: Instant,
    ) -> AuditRecord {
        AuditRecord {
            client,
            target,
            decision,
            access,
            route: String::new(),
            rule: String::new(),
            field: String::new(),
            identity: None,
            route_ref: None,
            counters: Arc::new(Counters::default()),
            start,
            open: None,
        }
    }

    /// Names the allow entry and route of this exchange for the metrics; its bytes count for
    /// that entry from now on.
    pub fn attribute(&mut self, identity: Option<Arc<str>>, route: Option<&'static Route>) {
        self.route_ref = route;
        if let (Some(m), Some(name)) = (crate::metrics::get(), &identity) {
            self.counters.meter(m.byte_counters(name));
        }
        self.identity = identity;
    }

    /// Writes the `start` event of a stream or an upgrade, which counts as open from now on.
    pub fn start(&mut self) {
        if let Some(m) = crate::metrics::get() {
            let gauge = if self.counters.upgraded.load(Ordering::Relaxed) {
                m.upgraded_streams_open.clone()
            } else {
                m.streams_open.clone()
            };
            gauge.inc();
            self.open = Some(gauge);
        }
        self.emit("start");
    }

    /// Counts the finished exchange in the metrics.
    fn measure(&self, m: &crate::metrics::Metrics) {
        let identity = self
            .identity
            .clone()
            .unwrap_or_else(|| Arc::from("unknown"));
        let streamed = self.open.is_some() || self.counters.upgraded.load(Ordering::Relaxed);
        if let Some(open) = &self.open {
            open.dec();
        }
        m.request(
            metric::RequestLabels {
                identity,
                profile: metric::Profile(self.access.clone()),
                method: metric::method_str(&self.target.method),
                route: RouteLabel(self.route_ref),
                code: self.counters.status.load(Ordering::Relaxed),
                decision: self.decision.as_str(),
            },
            (!streamed).then(|| self.start.elapsed()),
        );
    }

    fn emit(&self, event: &'static str) {
        // Before `sink::init` (in-process tests, tools that never serve) nothing is written.
        let Some(sink) = sink::get() else {
            return;
        };
        let c = &self.counters;
        let cut = c.cut.get().copied();
        let outcome = match (cut, c.complete.load(Ordering::Relaxed)) {
            _ if event == "start" => "",
            (Some(_), _) => "cut",
            (None, true) => "complete",
            (None, false) => "aborted",
        };
        let t = &self.target;
        let status = c.status.load(Ordering::Relaxed);
        let bytes_in = c.bytes_in.load(Ordering::Relaxed);
        let bytes_out = c.bytes_out.load(Ordering::Relaxed);
        let duration_ms = self.start.elapsed().as_millis() as u64;
        let upgraded = c.upgraded.load(Ordering::Relaxed);
        let access = self.access.as_ref().map(Access::as_str).unwrap_or("none");
        let reason = cut.unwrap_or("");
        let peer = self.client.peer.to_string();
        let mut fields: [(&str, Value<'_>); 20] = [
            ("event", Value::Str(event)),
            ("client_cn", Value::Shown(&self.client.cn)),
            ("fingerprint", Value::Shown(&self.client.fingerprint)),
            ("peer", Value::Shown(&peer)),
            ("method", Value::Shown(&t.method)),
            ("path", Value::Shown(&t.path)),
            ("query", Value::Shown(&t.query)),
            ("status", Value::U64(u64::from(status))),
            ("bytes_in", Value::U64(bytes_in)),
            ("bytes_out", Value::U64(bytes_out)),
            ("duration_ms", Value::U64(duration_ms)),
            ("upgraded", Value::Bool(upgraded)),
            ("decision", Value::Str(self.decision.as_str())),
            ("access", Value::Str(access)),
            ("route", Value::Shown(&self.route)),
            ("rule", Value::Shown(&self.rule)),
            ("field", Value::Shown(&self.field)),
            ("outcome", Value::Str(outcome)),
            ("reason", Value::Str(reason)),
            ("raw_path", Value::Str("")),
        ];
        // `raw_path` only when it differs, right after `path`.
        let n = match &t.raw_path {
            Some(raw) => {
                fields[6..].rotate_right(1);
                fields[6] = ("raw_path", Value::Str(raw));
                20
            }
            None => 19,
        };
        sink.emit("INFO", TARGET, "request", &fields[..n]);
    }
}

impl Drop for AuditRecord {
    fn drop(&mut self) {
        self.emit("end");
        if let Some(m) = crate::metrics::get() {
            self.measure(m);
        }
    }
}

/// Writes the `cut` event of a connection the gateway closed because its client lost access.
pub fn connection_cut(client: &Client, reason: &'static str, detail: &str) {
    let Some(sink) = sink::get() else {
        return;
    };
    let peer = client.peer.to_string();
    sink.emit(
        "WARN",
        TARGET,
        "connection closed: the client no longer has access",
        &[
            ("event", Value::Str("cut")),
            ("client_cn", Value::Shown(&client.cn)),
            ("fingerprint", Value::Shown(&client.fingerprint)),
            ("peer", Value::Shown(&peer)),
            ("reason", Value::Str(reason)),
            ("detail", Value::Str(detail)),
        ],
    );
}

/// Query parameters whose whole value is withheld from the log.
///
/// No Engine API query parameter is meant to carry a credential (registry credentials travel in
/// the `X-Registry-Auth` header), but two kinds of value do in practice: `buildargs` (a JSON map
/// of build arguments, where people pass tokens despite Docker's advice to use build secrets)
/// and URLs with a `user:password@` part (`remote=` of `/build` and `/plugins/pull`, `fromSrc=`
/// of `/images/create`). The first is always withheld; any value holding a URL with userinfo is
/// withheld too.
const SECRET_PARAMS: [&str; 1] = ["buildargs"];

/// What replaces a withheld value.
pub const REDACTED: &str = "REDACTED";

/// The query string as sent, with the values that may carry credentials replaced by
/// [`REDACTED`]. Everything else stays byte for byte (still percent-encoded, so no control
/// character can reach the log).
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (key, value) = match pair.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (pair, None),
            };
            match value {
                Some(v) if is_secret(key, v) => format!("{key}={REDACTED}"),
                _ => pair.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret(key: &str, value: &str) -> bool {
    let key = percent_decode(key);
    if SECRET_PARAMS.iter().any(|s| key == *s) {
        return true;
    }
    has_userinfo(&percent_decode(value))
}

/// Whether `value` holds `scheme://user[:password]@host...` anywhere.
fn has_userinfo(value: &str) -> bool {
    value.match_indices("://").any(|(i, _)| {
        let authority = &value[i + 3..];
        let end = authority.find(['/', '?', '#']).unwrap_or(authority.len());
        authority[..end].contains('@')
    })
}

/// Percent-decodes `s` (and `+` as a space, as Go's query parser does), lossily.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn plain_queries_pass_byte_for_byte() {
        let q = "fromImage=busybox&tag=latest&filters=%7B%22a%22%3A%7B%22b%22%3Atrue%7D%7D";
        assert_eq!(redact_query(q), q);
        assert_eq!(redact_query("stream&x="), "stream&x=");
    }

    #[test]
    fn build_args_are_withheld() {
        assert_eq!(
            redact_query("t=app&buildargs=%7B%22TOKEN%22%3A%22s3cret%22%7D&q=1"),
            "t=app&buildargs=REDACTED&q=1"
        );
        assert_eq!(redact_query("build%61rgs=x"), "build%61rgs=REDACTED");
    }

    #[test]
    fn urls_with_userinfo_are_withheld() {
        assert_eq!(
            redact_query("remote=https%3A%2F%2Fbob%3Atoken%40git.example.com%2Fr.git&t=x"),
            "remote=REDACTED&t=x"
        );
        assert_eq!(
            redact_query("fromSrc=http://u:p@example.com/x.tar"),
            "fromSrc=REDACTED"
        );
        // A URL without userinfo, and an @ outside the authority, stay.
        let q = "remote=https%3A%2F%2Fgit.example.com%2Fr.git%3Fa%40b";
        assert_eq!(redact_query(q), q);
    }

    #[test]
    fn truncated_escapes_do_not_panic() {
        assert_eq!(redact_query("a=%"), "a=%");
        assert_eq!(redact_query("a=%4"), "a=%4");
        assert_eq!(redact_query("%=%zz"), "%=%zz");
    }
}

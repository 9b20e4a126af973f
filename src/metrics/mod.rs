//! Prometheus metrics (`[metrics] address`): what the gateway counts, and the listener that
//! serves them with `/health` ([`http`]).
//!
//! Recording is off unless `[metrics]` is configured: [`get`] is `None` until [`init`], and every
//! recording site does nothing then. Counters and histograms are updated where things happen
//! (handshake, request end, each body chunk, engine errors, reloads); gauges that describe the
//! current state (open connections, certificate and CRL dates, the engine answering) are read
//! from the gateway when scraped, so a reload never leaves stale series behind.
//!
//! Every label set is bounded by the configuration or a fixed list (see [`labels`]).

pub mod handshake;
pub mod http;
pub mod labels;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use labels::{
    CertificateLabels, DurationLabels, EngineError, HandshakeFailure, IdentityLabels, IssuerLabels,
    KindLabels, ReasonLabels, RequestLabels, ResultLabels, VersionLabels,
};

/// Histogram buckets of request durations, in seconds: Prometheus' defaults, plus 30 s and 60 s
/// for container creates and removals that take long.
const DURATION_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the gateway exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub durations: HistogramFamily<DurationLabels>,
    pub handshakes: Counter,
    pub handshake_failures: Family<ReasonLabels, Counter>,
    pub connections_open: Gauge,
    pub upgraded_streams_open: Gauge,
    pub streams_open: Gauge,
    pub received_bytes: Family<IdentityLabels, Counter>,
    pub sent_bytes: Family<IdentityLabels, Counter>,
    pub engine_errors: Family<KindLabels, Counter>,
    pub engine_up: Gauge,
    pub certificate_not_after: Family<CertificateLabels, Gauge>,
    pub crl_next_update: Family<IssuerLabels, Gauge>,
    pub reloads: Family<ResultLabels, Counter>,
    pub last_reload_success: Gauge,
    pub last_reload_successful: Gauge,
    build_info: Family<VersionLabels, Gauge>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The metrics, when `[metrics]` is configured and [`init`] ran.
#[inline]
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Switches recording on (once per process; later calls return the same metrics).
pub fn init() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            handshakes: Counter::default(),
            handshake_failures: Family::default(),
            connections_open: Gauge::default(),
            upgraded_streams_open: Gauge::default(),
            streams_open: Gauge::default(),
            received_bytes: Family::default(),
            sent_bytes: Family::default(),
            engine_errors: Family::default(),
            engine_up: Gauge::default(),
            certificate_not_after: Family::default(),
            crl_next_update: Family::default(),
            reloads: Family::default(),
            last_reload_success: Gauge::default(),
            last_reload_successful: Gauge::default(),
            build_info: Family::default(),
        };
        // Every fixed label value exists from the start at 0, so that rate() and increase()
        // see the first failure of a kind.
        for reason in HandshakeFailure::ALL {
            let _ = m.handshake_failures.get_or_create(&ReasonLabels { reason });
        }
        for kind in EngineError::ALL {
            let _ = m.engine_errors.get_or_create(&KindLabels { kind });
        }
        for result in ["success", "failure"] {
            let _ = m.reloads.get_or_create(&ResultLabels { result });
        }
        // Until the first contact (every scrape probes the engine before it is answered).
        m.engine_up.set(1);
        m.build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        m.registered()
    }

    fn registered(mut self) -> Metrics {
        let r = &mut self.registry;
        // prometheus-client adds `_total` to counter names.
        r.register(
            "dockgate_requests",
            "Requests answered, by allow entry, profile, method, engine route, status code and decision",
            self.requests.clone(),
        );
        r.register(
            "dockgate_request_duration_seconds",
            "Time from request head to the end of the response, for requests that are not streams or hijacks",
            self.durations.clone(),
        );
        r.register(
            "dockgate_handshakes",
            "TLS handshakes begun (a first byte arrived, or the wait for it ran out)",
            self.handshakes.clone(),
        );
        r.register(
            "dockgate_handshake_failures",
            "TLS handshakes that did not end with a verified client, by reason",
            self.handshake_failures.clone(),
        );
        r.register(
            "dockgate_connections_open",
            "Client connections open now, in the handshake or verified, hijacked streams included",
            self.connections_open.clone(),
        );
        r.register(
            "dockgate_upgraded_streams_open",
            "Hijacked (upgraded) streams open now: attach, exec, BuildKit sessions",
            self.upgraded_streams_open.clone(),
        );
        r.register(
            "dockgate_streams_open",
            "Streamed responses open now (no Content-Length): logs -f, events, pull progress",
            self.streams_open.clone(),
        );
        r.register(
            "dockgate_received_bytes",
            "Request body and hijacked-stream bytes received from clients, by allow entry",
            self.received_bytes.clone(),
        );
        r.register(
            "dockgate_sent_bytes",
            "Response body and hijacked-stream bytes sent to clients, by allow entry",
            self.sent_bytes.clone(),
        );
        r.register(
            "dockgate_engine_errors",
            "Requests the engine could not serve, by kind",
            self.engine_errors.clone(),
        );
        r.register(
            "dockgate_engine_up",
            "1 when the last contact with the engine (a request, or the probe of a scrape or /health) succeeded",
            self.engine_up.clone(),
        );
        r.register(
            "dockgate_certificate_not_after_timestamp_seconds",
            "When the server certificate and each CA certificate of tls.ca expire (Unix time)",
            self.certificate_not_after.clone(),
        );
        r.register(
            "dockgate_crl_next_update_timestamp_seconds",
            "When each CRL of tls.crl must be replaced by a newer one (Unix time)",
            self.crl_next_update.clone(),
        );
        r.register(
            "dockgate_reloads",
            "Configuration reloads (SIGHUP, file watch), by result",
            self.reloads.clone(),
        );
        r.register(
            "dockgate_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully, at start or by a reload (Unix time)",
            self.last_reload_success.clone(),
        );
        r.register(
            "dockgate_last_reload_successful",
            "1 when the last configuration load (at start or by a reload) succeeded, 0 when it failed and the previous one stays in force",
            self.last_reload_successful.clone(),
        );
        r.register(
            "dockgate_build_info",
            "Always 1; the version label says which dockgate runs",
            self.build_info.clone(),
        );
        self
    }

    /// The exposition, OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn handshake_failed(&self, reason: HandshakeFailure) {
        self.handshake_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn engine_error(&self, kind: EngineError) {
        self.engine_errors.get_or_create(&KindLabels { kind }).inc();
    }

    /// Records the result of a request's contact with the engine. Written only when it
    /// changes (every request reports one, and an unchanged line stays in the CPU caches); the
    /// gauge is the only state, so racing writers leave the last one's value.
    pub fn engine_contact(&self, answered: bool) {
        let value = i64::from(answered);
        if self.engine_up.get() != value {
            self.engine_up.set(value);
        }
    }

    pub fn reload(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
        if success {
            self.loaded();
        } else {
            self.last_reload_successful.set(0);
        }
    }

    /// The configuration was loaded successfully now.
    pub fn loaded(&self) {
        self.last_reload_success
            .set(unix_seconds(SystemTime::now()));
        self.last_reload_successful.set(1);
    }

    /// Counts one finished request; `duration` for those that are neither streams nor hijacks.
    pub fn request(&self, labels: RequestLabels, duration: Option<Duration>) {
        if let Some(d) = duration {
            self.durations
                .get_or_create(&DurationLabels {
                    identity: labels.identity.clone(),
                    profile: labels.profile.clone(),
                    method: labels.method,
                    route: labels.route,
                })
                .observe(d.as_secs_f64());
        }
        self.requests.get_or_create(&labels).inc();
    }

    /// The byte counters of one allow entry, to be added to as bytes flow.
    pub fn byte_counters(&self, identity: &labels::Identity) -> ByteCounters {
        let labels = IdentityLabels {
            identity: identity.clone(),
        };
        ByteCounters {
            received: self.received_bytes.get_or_create_owned(&labels),
            sent: self.sent_bytes.get_or_create_owned(&labels),
        }
    }

    /// Sets the certificate and CRL dates from the running state, dropping the series of
    /// certificates and CRLs that are gone.
    ///
    /// Two CAs (or CRLs) with one name (a key rollover) share a series, which shows the earlier
    /// date: the one that cuts clients off first.
    pub fn set_expiries(&self, certificates: &[CertificateDate], crls: &[CrlDate]) {
        set_earliest(
            &self.certificate_not_after,
            certificates.iter().map(|c| {
                let labels = CertificateLabels {
                    kind: c.kind,
                    subject: c.subject.clone(),
                };
                (labels, c.not_after)
            }),
        );
        set_earliest(
            &self.crl_next_update,
            crls.iter().map(|c| {
                let labels = IssuerLabels {
                    issuer: c.issuer.clone(),
                };
                (labels, c.next_update)
            }),
        );
    }
}

/// Replaces every series of `family` with `dates`, the earliest where a label set repeats.
fn set_earliest<L>(family: &Family<L, Gauge>, dates: impl Iterator<Item = (L, i64)>)
where
    L: Clone + std::hash::Hash + Eq,
{
    let mut earliest: HashMap<L, i64> = HashMap::new();
    for (labels, at) in dates {
        let e = earliest.entry(labels).or_insert(at);
        *e = (*e).min(at);
    }
    family.clear();
    for (labels, at) in earliest {
        family.get_or_create(&labels).set(at);
    }
}

/// Bytes of one allow entry, received and sent.
#[derive(Debug, Clone)]
pub struct ByteCounters {
    pub received: Counter,
    pub sent: Counter,
}

/// A certificate's expiry as exported.
#[derive(Debug, Clone)]
pub struct CertificateDate {
    /// `server` or `ca`.
    pub kind: &'static str,
    pub subject: String,
    /// Unix seconds.
    pub not_after: i64,
}

/// A CRL's next update as exported.
#[derive(Debug, Clone)]
pub struct CrlDate {
    pub issuer: String,
    /// Unix seconds.
    pub next_update: i64,
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

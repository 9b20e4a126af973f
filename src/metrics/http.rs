//! The metrics listener: plain HTTP/1.1 on `[metrics] address`, apart from the TLS port.
//!
//! `GET /metrics`: the exposition (OpenMetrics when the scraper asks for it, as Prometheus does;
//! else the Prometheus text format, which `curl` and `promtool check metrics` read).
//! `GET /health`: `200 ok` when the gateway is serving and the engine answers `/_ping` now,
//! else `503` with a one-line reason. Both probe the engine first (bounded by
//! `ENGINE_PROBE_TIMEOUT`, one probe at a time, a result reused for `PROBE_REUSE`), so
//! `dockgate_engine_up` and `/health` are current even when no client is sending requests.
//! One request per connection, each connection at most `CONNECTION_DEADLINE`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{CertificateDate, CrlDate, Metrics};
use crate::proxy::Upstream;

/// The longest a scrape or health check waits for the engine's `/_ping`.
pub const ENGINE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Scrapers and health checkers served at once; more wait in the backlog.
const MAX_CONNECTIONS: usize = 32;

/// The longest one connection may take, all included: a client that does not read its answer
/// gives its place up after this.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(30);

/// A probe result younger than this answers the next scrape or health check too, so that no
/// client can make the gateway probe the engine more often than this.
const PROBE_REUSE: Duration = Duration::from_secs(1);

/// What the gateway is now, read at each scrape.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Accepting and serving (not draining).
    pub serving: bool,
    pub connections_open: usize,
    pub certificates: Vec<CertificateDate>,
    pub crls: Vec<CrlDate>,
    /// The current way to the engine.
    pub engine: Upstream,
}

/// Where snapshots come from (the running gateway).
pub trait Source: Send + Sync + 'static {
    fn snapshot(&self) -> Snapshot;
}

/// What `dockgate serve` logs and `dockgate check` says when `address` is beyond loopback.
pub fn exposure_warning(address: std::net::SocketAddr) -> Option<String> {
    (!address.ip().is_loopback()).then(|| {
        format!(
            "metrics.address {address} is not a loopback address: /metrics is plain HTTP without authentication and names clients and certificates; keep it behind a firewall"
        )
    })
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves `/metrics` and `/health` on `listener` for as long as the process runs.
pub async fn serve(listener: TcpListener, metrics: &'static Metrics, source: Arc<dyn Source>) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics and /health (plain HTTP)");
    }
    let prober = Arc::new(Prober::default());
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "metrics listener: accept failed");
                // Out of descriptors or similar: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (source, prober) = (source.clone(), prober.clone());
        tokio::spawn(async move {
            let service =
                service_fn(move |req| answer(metrics, source.clone(), prober.clone(), req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_DEADLINE, conn).await {
                Ok(Err(e)) => tracing::debug!(error = %e, "metrics connection ended with an error"),
                Err(_) => {
                    tracing::debug!("metrics connection closed after {CONNECTION_DEADLINE:?}")
                }
                Ok(Ok(())) => {}
            }
            drop(permit);
        });
    }
}

async fn answer(
    metrics: &'static Metrics,
    source: Arc<dyn Source>,
    prober: Arc<Prober>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    Ok(match req.uri().path() {
        "/metrics" => {
            let snapshot = source.snapshot();
            let _ = prober.probe(metrics, &snapshot.engine).await;
            metrics
                .connections_open
                .set(snapshot.connections_open as i64);
            metrics.set_expiries(&snapshot.certificates, &snapshot.crls);
            let body = metrics.encode();
            let open_metrics = req
                .headers()
                .get_all(header::ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.contains("application/openmetrics-text"));
            let (content_type, body) = if open_metrics {
                (OPENMETRICS, body)
            } else {
                (PROMETHEUS_TEXT, prometheus_text(&body))
            };
            let mut r = Response::new(Full::new(Bytes::from(body)));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
        "/health" => {
            let snapshot = source.snapshot();
            let engine = prober.probe(metrics, &snapshot.engine).await;
            match (snapshot.serving, engine) {
                (false, _) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "draining: shutting down, not accepting connections\n",
                ),
                (true, Err(reason)) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("engine unreachable: {reason}\n"),
                ),
                (true, Ok(())) => text(StatusCode::OK, "ok: serving, the engine answers\n"),
            }
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: this listener serves /metrics and /health\n",
        ),
    })
}

/// One engine probe at a time, its result reused for [`PROBE_REUSE`].
#[derive(Default)]
struct Prober {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Prober {
    /// Asks the engine for `/_ping` (or reuses a result younger than [`PROBE_REUSE`]) and sets
    /// `dockgate_engine_up`; `Err` holds a one-line reason.
    async fn probe(&self, metrics: &Metrics, engine: &Upstream) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < PROBE_REUSE {
                return result.clone();
            }
        }
        let result = match tokio::time::timeout(ENGINE_PROBE_TIMEOUT, engine.ping()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer to /_ping within {ENGINE_PROBE_TIMEOUT:?}"
            )),
        }
        .map_err(|r| r.replace(['\r', '\n'], " "));
        metrics.engine_up.set(i64::from(result.is_ok()));
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// OpenMetrics text as the Prometheus text format (0.0.4): counter families are named with
/// their `_total` suffix, and the `# UNIT` and `# EOF` lines go.
fn prometheus_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut counters: Vec<&str> = Vec::new();
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.push(name);
            }
        }
    }
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::prometheus_text;

    #[test]
    fn counters_get_their_total_names_and_the_eof_goes() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{x=\"1\"} 2\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{x=\"1\"} 2\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n"
        );
    }
}

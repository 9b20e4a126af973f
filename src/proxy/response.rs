//! Responses dockgate writes itself, shaped like the engine's errors (`{"message": "..."}` with a
//! JSON content type) so that the docker CLI prints them; and the one place where each failure is
//! mapped to a status code.
//!
//! A client learns that the engine is unreachable and at which step, never the engine's socket
//! path or the OS error behind it: any verified client, even a read-only one, would otherwise
//! learn the host's layout. The full cause goes to the gateway's log, once per failed request.

use bytes::Bytes;
use http::{header, Response, StatusCode};

use super::body::ResponseBody;
use super::upstream::UpstreamError;
use crate::audit::AuditRecord;
use crate::policy::path::PathError;

/// Every way dockgate itself can answer a request instead of the engine.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("dockgate: bad request: {0}")]
    BadPath(#[from] PathError),
    #[error("dockgate: bad request: the request target has no path")]
    BadTarget,
    #[error("dockgate: access denied: this client certificate is not allowed to use this gateway")]
    UnknownClient,
    #[error("dockgate: access denied: {}", .0.message())]
    NoLongerAdmitted(super::CutReason),
    #[error("dockgate: {0}")]
    TooManyConnections(#[from] super::TooManyConnections),
    #[error("dockgate: bad request: HTTP/1.0 cannot switch protocols (Upgrade); use HTTP/1.1")]
    UpgradeOnHttp10,
    #[error("dockgate: the gateway is at its connection limit (limits.max_connections); try again later")]
    AtCapacity,
    #[error("dockgate: access denied: {method} {path} is not allowed for this client")]
    Forbidden { method: String, path: String },
    /// A profile refused the request; the message says what, in the request's terms.
    #[error("dockgate: access denied: {0}")]
    Denied(String),
    #[error("dockgate: access denied: {0}")]
    BodyUnreadable(String),
    /// The engine cannot resolve what the request names (unknown, ambiguous): its own status
    /// and message, as it would answer the request.
    #[error("{message}")]
    EngineSaid { status: u16, message: String },
    #[error("dockgate: access denied: the request body is over the gateway's inspection limit of {limit} bytes (limits.max_inspected_body)")]
    BodyTooLarge { limit: usize },
    #[error("dockgate: the gateway is inspecting {total} bytes of request bodies already, its limit (limits.max_inspected_total); try again later")]
    InspectionBusy { total: usize },
    #[error("dockgate: the request body did not arrive within {} (limits.body_timeout)", humantime::format_duration(*.timeout))]
    BodyTimeout { timeout: std::time::Duration },
    #[error("dockgate: bad request: the request body's framing is ambiguous or broken (Content-Length with Transfer-Encoding, or a truncated body)")]
    BodyFraming,
    #[error("dockgate: the Docker Engine is unreachable: {}", .0.client_hint())]
    Upstream(#[from] UpstreamError),
    #[error("dockgate: the Docker Engine switched protocols on a request that did not ask to")]
    UnexpectedUpgrade,
    /// What a request did could not be checked against the profile afterwards.
    #[error("dockgate: {0}")]
    Unverifiable(String),
    #[error("dockgate: the request head is {size} bytes, over the gateway's limit of {limit} (limits.max_header_bytes)")]
    HeadTooLarge { size: usize, limit: usize },
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadPath(_)
            | ProxyError::BadTarget
            | ProxyError::UpgradeOnHttp10
            | ProxyError::BodyUnreadable(_)
            | ProxyError::BodyFraming => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::EngineSaid { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ProxyError::TooManyConnections(_) => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ProxyError::AtCapacity
            | ProxyError::InspectionBusy { .. }
            | ProxyError::Upstream(super::UpstreamError::Busy { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProxyError::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::UnknownClient
            | ProxyError::Forbidden { .. }
            | ProxyError::Denied(_)
            | ProxyError::NoLongerAdmitted(_) => StatusCode::FORBIDDEN,
            ProxyError::Upstream(_)
            | ProxyError::UnexpectedUpgrade
            | ProxyError::Unverifiable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The Docker-style response for this error, carrying the request's audit record.
    pub fn into_response(self, record: AuditRecord) -> Response<ResponseBody> {
        let status = self.status();
        record.counters.set_status(status.as_u16());
        if let ProxyError::Upstream(cause) = &self {
            tracing::warn!(
                error = %error_chain(cause),
                "the Docker Engine is unreachable; answered 502"
            );
        }
        docker_error(status, &self.to_string(), Some(record))
    }
}

/// `e` and its causes, each once: "cannot connect to the Docker Engine at /run/docker.sock: No
/// such file or directory (os error 2)".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A Docker-style error response.
pub fn docker_error(
    status: StatusCode,
    message: &str,
    record: Option<AuditRecord>,
) -> Response<ResponseBody> {
    let mut body = serde_json::json!({ "message": message }).to_string();
    body.push('\n');
    let mut response = Response::new(ResponseBody::full(Bytes::from(body), record));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

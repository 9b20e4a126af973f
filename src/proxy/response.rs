//! Responses dockgate writes itself, shaped like the engine's errors (`{"message": "..."}` with a
//! JSON content type) so that the docker CLI prints them; and the one place where each failure is
//! mapped to a status code.

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
    #[error("dockgate: access denied: {0}")]
    Revoked(crate::tls::RevocationProblem),
    #[error("dockgate: access denied: {method} {path} is not allowed for this client")]
    Forbidden { method: String, path: String },
    #[error("dockgate: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("dockgate: the Docker Engine switched protocols on a request that did not ask to")]
    UnexpectedUpgrade,
    #[error("dockgate: the request head is {size} bytes, over the gateway's limit of {limit} (limits.max_header_bytes)")]
    HeadTooLarge { size: usize, limit: usize },
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadPath(_) | ProxyError::BadTarget => StatusCode::BAD_REQUEST,
            ProxyError::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::UnknownClient | ProxyError::Forbidden { .. } | ProxyError::Revoked(_) => {
                StatusCode::FORBIDDEN
            }
            ProxyError::Upstream(_) | ProxyError::UnexpectedUpgrade => StatusCode::BAD_GATEWAY,
        }
    }

    /// The Docker-style response for this error, carrying the request's audit record.
    pub fn into_response(self, record: AuditRecord) -> Response<ResponseBody> {
        let status = self.status();
        record.counters.set_status(status.as_u16());
        let mut message = self.to_string();
        let mut source = std::error::Error::source(&self);
        // The engine's errors are one line; append the causes so the CLI shows why.
        if matches!(self, ProxyError::Upstream(_)) {
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
        }
        docker_error(status, &message, Some(record))
    }
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

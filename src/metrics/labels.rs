//! Metric label sets, each bounded by the configuration or by a fixed list: no raw paths, no
//! peer addresses, no names a client can choose.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

use crate::config::Access;
use crate::policy::routes::Route;

/// The matched `[[allow]]` entry's name (`unknown` when none matched).
pub type Identity = Arc<str>;

/// The access level or profile name; `none` when no entry matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Profile(pub Option<Access>);

impl EncodeLabelValue for Profile {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.as_ref().map(Access::as_str).unwrap_or("none");
        EncodeLabelValue::encode(&s, encoder)
    }
}

/// The engine route in `allow` pattern syntax (`/containers/{id}/start`), `other` when the
/// engine has no such route. Written out only when scraped.
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub Option<&'static Route>);

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for RouteLabel {}

impl std::hash::Hash for RouteLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.map(|r| r as *const Route as usize).hash(state)
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self.0 {
            Some(r) => {
                let text = crate::policy::pattern::route_pattern(r.pattern);
                EncodeLabelValue::encode(&text.as_str(), encoder)
            }
            None => EncodeLabelValue::encode(&"other", encoder),
        }
    }
}

/// The request method, one of HTTP's own or `other` (hyper accepts any token).
pub fn method_str(m: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    KNOWN.iter().find(|k| **k == m).copied().unwrap_or("other")
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub identity: Identity,
    pub profile: Profile,
    pub method: &'static str,
    pub route: RouteLabel,
    pub code: u16,
    pub decision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DurationLabels {
    pub identity: Identity,
    pub profile: Profile,
    pub method: &'static str,
    pub route: RouteLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct IdentityLabels {
    pub identity: Identity,
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum HandshakeFailure {
    /// The client sent no certificate.
    no_certificate,
    /// The certificate does not chain to a configured CA (also: a chain dockgate refuses to
    /// build, a bad signature).
    unknown_ca,
    expired,
    not_yet_valid,
    /// On a CRL, or its revocation status cannot be known (its CRL ran out).
    revoked,
    /// No clientAuth extended key usage.
    bad_key_usage,
    /// A CA certificate presented as the client certificate.
    ca_as_client,
    /// `limits.first_byte_timeout` or `limits.handshake_timeout` ran out, or the pending
    /// handshake was dropped to make room (`limits.max_handshakes`).
    timeout,
    /// Anything else: no common protocol version or cipher, malformed messages, the client
    /// refusing the server's certificate, a connection closed mid-handshake.
    protocol,
    /// Plain HTTP on the TLS port (answered 400).
    plain_http,
}

impl HandshakeFailure {
    pub const ALL: [HandshakeFailure; 10] = [
        HandshakeFailure::no_certificate,
        HandshakeFailure::unknown_ca,
        HandshakeFailure::expired,
        HandshakeFailure::not_yet_valid,
        HandshakeFailure::revoked,
        HandshakeFailure::bad_key_usage,
        HandshakeFailure::ca_as_client,
        HandshakeFailure::timeout,
        HandshakeFailure::protocol,
        HandshakeFailure::plain_http,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: HandshakeFailure,
}

/// Why a request could not be served by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum EngineError {
    /// The socket file does not exist (the engine is stopped, or `upstream.socket` is wrong).
    socket_missing,
    /// The socket exists but nothing accepts on it (or another connect error).
    connect_refused,
    /// The gateway may not open the socket (not in the docker group).
    permission_denied,
    /// `limits.upstream_connect_timeout` ran out.
    timeout,
    /// The engine closed the connection before its response was complete.
    died_mid_response,
}

impl EngineError {
    pub const ALL: [EngineError; 5] = [
        EngineError::socket_missing,
        EngineError::connect_refused,
        EngineError::permission_denied,
        EngineError::timeout,
        EngineError::died_mid_response,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: EngineError,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `server` or `ca`.
    pub kind: &'static str,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct IssuerLabels {
    pub issuer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ResultLabels {
    /// `success` or `failure`.
    pub result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: &'static str,
}

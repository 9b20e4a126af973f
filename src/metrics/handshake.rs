//! Why a TLS handshake failed, read from the error rustls gave the acceptor: the
//! `dockgate_handshake_failures_total` reason.

use rustls::CertificateError as C;

use super::labels::HandshakeFailure;
use crate::tls::LeafProblem;

/// The reason of a handshake that ended with `e` (the acceptor's I/O error, which carries the
/// rustls error when there is one).
pub fn reason(e: &std::io::Error) -> HandshakeFailure {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => of_tls(tls),
        // The connection closed or failed under the handshake.
        None => HandshakeFailure::protocol,
    }
}

fn of_tls(e: &rustls::Error) -> HandshakeFailure {
    match e {
        rustls::Error::NoCertificatesPresented => HandshakeFailure::no_certificate,
        rustls::Error::InvalidCertificate(c) => of_certificate(c),
        _ => HandshakeFailure::protocol,
    }
}

fn of_certificate(c: &C) -> HandshakeFailure {
    match c {
        C::Expired | C::ExpiredContext { .. } => HandshakeFailure::expired,
        C::NotValidYet | C::NotValidYetContext { .. } => HandshakeFailure::not_yet_valid,
        C::Revoked
        | C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. } => HandshakeFailure::revoked,
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => HandshakeFailure::bad_key_usage,
        C::Other(other) => match other.0.downcast_ref::<LeafProblem>() {
            Some(LeafProblem::IsCa) => HandshakeFailure::ca_as_client,
            Some(LeafProblem::NoClientAuthUsage) => HandshakeFailure::bad_key_usage,
            Some(LeafProblem::Unparsable) => HandshakeFailure::protocol,
            // A chain dockgate refuses to build a path through (`ChainProblem`), or a WebPKI
            // refusal without a variant of its own: not verifiable against our CAs.
            None => HandshakeFailure::unknown_ca,
        },
        C::BadEncoding => HandshakeFailure::protocol,
        // UnknownIssuer, BadSignature, unsupported signature algorithms: not from our CA.
        _ => HandshakeFailure::unknown_ca,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;
    use crate::tls::ChainProblem;

    fn io(e: rustls::Error) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let cases = [
            (
                rustls::Error::NoCertificatesPresented,
                HandshakeFailure::no_certificate,
            ),
            (
                rustls::Error::InvalidCertificate(C::UnknownIssuer),
                HandshakeFailure::unknown_ca,
            ),
            (
                rustls::Error::InvalidCertificate(C::Expired),
                HandshakeFailure::expired,
            ),
            (
                rustls::Error::InvalidCertificate(C::NotValidYet),
                HandshakeFailure::not_yet_valid,
            ),
            (
                rustls::Error::InvalidCertificate(C::Revoked),
                HandshakeFailure::revoked,
            ),
            (
                rustls::Error::InvalidCertificate(C::InvalidPurpose),
                HandshakeFailure::bad_key_usage,
            ),
            (
                rustls::Error::InvalidCertificate(C::Other(OtherError(Arc::new(
                    LeafProblem::IsCa,
                )))),
                HandshakeFailure::ca_as_client,
            ),
            (
                rustls::Error::InvalidCertificate(C::Other(OtherError(Arc::new(
                    ChainProblem::RepeatedSubject,
                )))),
                HandshakeFailure::unknown_ca,
            ),
            (
                rustls::Error::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
                HandshakeFailure::protocol,
            ),
        ];
        for (error, want) in cases {
            assert_eq!(reason(&io(error.clone())), want, "{error:?}");
        }
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(reason(&eof), HandshakeFailure::protocol);
    }
}

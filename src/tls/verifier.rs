//! Client-certificate verification: WebPKI path validation to the configured CA, plus the checks
//! WebPKI leaves out.
//!
//! rustls-webpki accepts a leaf without an extended-key-usage extension as fit for client
//! authentication (`KeyUsage::required_if_present`). dockgate requires the clientAuth EKU to be
//! present, and refuses leaves that are CA certificates, so a server certificate or a CA's own
//! certificate can never be used to log in.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Wraps a WebPKI client verifier with dockgate's leaf checks.
#[derive(Debug)]
pub struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientVerifier {
    pub fn new(inner: Arc<dyn ClientCertVerifier>) -> ClientVerifier {
        ClientVerifier { inner }
    }
}

/// Why a leaf that chains to the CA is still refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafProblem {
    Unparsable,
    NoClientAuthUsage,
    IsCa,
}

impl LeafProblem {
    pub fn describe(self) -> &'static str {
        match self {
            LeafProblem::Unparsable => "the certificate cannot be parsed",
            LeafProblem::NoClientAuthUsage => {
                "the certificate has no extended key usage for client authentication (clientAuth)"
            }
            LeafProblem::IsCa => "the certificate is a CA certificate, not a client certificate",
        }
    }
}

/// Checks that a leaf may be used as a client certificate.
pub fn check_client_leaf(der: &[u8]) -> Result<(), LeafProblem> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| LeafProblem::Unparsable)?;
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => return Err(LeafProblem::IsCa),
        Ok(_) => {}
        Err(_) => return Err(LeafProblem::Unparsable),
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth => Ok(()),
        Ok(_) => Err(LeafProblem::NoClientAuthUsage),
        Err(_) => Err(LeafProblem::Unparsable),
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if let Err(problem) = check_client_leaf(end_entity) {
            tracing::info!(
                reason = problem.describe(),
                fingerprint = %super::identity::fingerprint(end_entity),
                "client certificate refused"
            );
            return Err(rustls::Error::InvalidCertificate(match problem {
                LeafProblem::Unparsable => CertificateError::BadEncoding,
                LeafProblem::NoClientAuthUsage | LeafProblem::IsCa => {
                    CertificateError::InvalidPurpose
                }
            }));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

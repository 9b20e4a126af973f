//! TLS for the listener: the rustls server configuration built from `[tls]`, mutual TLS
//! mandatory, TLS 1.2 and 1.3 only, ALPN `http/1.1` only.
//!
//! Session resumption is switched off (no session cache, no tickets): a resumed session would skip
//! client-certificate verification, and dockgate's handshakes are cheap next to what a Docker
//! command costs.

mod crl;
mod identity;
mod pem;
mod verifier;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::TlsFiles;

pub use crl::{CertId, CrlError, CrlInfo, RevocationProblem, Revocations};
pub use identity::{fingerprint, ClientIdentity, IdentityError};
pub use pem::{load_certs, load_key, PemError};
pub use verifier::{check_client_leaf, ClientVerifier, LeafProblem};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.ca")]
    Ca(#[source] PemError),
    #[error("tls.ca: {path} holds a certificate that is not a usable CA")]
    BadCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("tls.ca: {path}: cannot build a client verifier from it")]
    Verifier {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("tls.cert")]
    Cert(#[source] PemError),
    #[error("tls.key")]
    Key(#[source] PemError),
    #[error("tls.key: {key} does not belong to the certificate in {cert}, or is not a usable key")]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("TLS protocol versions")]
    Versions(#[source] rustls::Error),
    #[error("tls.crl")]
    Crl(#[source] CrlError),
}

/// Everything the TLS side of a connection needs, built from `[tls]`.
#[derive(Debug)]
pub struct TlsSetup {
    pub config: Arc<ServerConfig>,
    /// The CRLs, for checking every request of open connections again.
    pub revocations: Arc<Revocations>,
    /// When the server certificate expires.
    pub server_not_after: Option<time::OffsetDateTime>,
}

/// The crypto provider dockgate uses everywhere.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the CA bundle, certificate, key and CRLs named in `[tls]` and builds the server
/// configuration. A CRL past its next-update time fails every client it covers (fail closed);
/// with CRLs configured, a client certificate whose issuer no CRL covers is refused too.
pub fn setup(files: &TlsFiles) -> Result<TlsSetup, TlsError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&files.ca).map_err(TlsError::Ca)? {
        roots.add(ca).map_err(|source| TlsError::BadCa {
            path: files.ca.clone(),
            source,
        })?;
    }
    let (revocations, crls) = Revocations::load(&files.crl).map_err(TlsError::Crl)?;
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !crls.is_empty() {
        builder = builder.with_crls(crls).enforce_revocation_expiration();
    }
    let inner = builder.build().map_err(|source| TlsError::Verifier {
        path: files.ca.clone(),
        source,
    })?;
    let chain = load_certs(&files.cert).map_err(TlsError::Cert)?;
    let server_not_after = chain.first().and_then(|c| {
        let (_, cert) = X509Certificate::from_der(c).ok()?;
        time::OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp()).ok()
    });
    let key = load_key(&files.key).map_err(TlsError::Key)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Versions)?
        .with_client_cert_verifier(Arc::new(ClientVerifier::new(inner)))
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::KeyMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(TlsSetup {
        config: Arc::new(config),
        revocations: Arc::new(revocations),
        server_not_after,
    })
}

//! Server certificate verification that remembers the last chain it accepted. Against one
//! server the chain is the same bytes on every handshake, so webpki checks it once a minute and
//! then recognises it byte for byte; what proves the server on each handshake (its
//! CertificateVerify signature over this handshake's transcript) is still checked every time.
//! This takes one ECDSA verification, about a quarter of the client's handshake CPU, off the
//! generator, so a gateway doing thousands of handshakes a second is not hidden behind it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// How long an accepted chain is recognised without checking it again.
const FRESH: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct CachedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    last: Mutex<Option<Accepted>>,
}

/// A chain webpki accepted, for the name it was accepted for.
#[derive(Debug)]
struct Accepted {
    end_entity: Vec<u8>,
    intermediates: Vec<Vec<u8>>,
    server_name: ServerName<'static>,
    ocsp: Vec<u8>,
    at: Instant,
}

impl Accepted {
    fn matches(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
    ) -> bool {
        self.at.elapsed() < FRESH
            && self.end_entity == end_entity.as_ref()
            && self.intermediates.len() == intermediates.len()
            && self
                .intermediates
                .iter()
                .zip(intermediates)
                .all(|(a, b)| a.as_slice() == b.as_ref())
            && &self.server_name == server_name
            && self.ocsp == ocsp
    }
}

impl CachedVerifier {
    pub fn new(inner: Arc<WebPkiServerVerifier>) -> Self {
        CachedVerifier {
            inner,
            last: Mutex::new(None),
        }
    }
}

impl ServerCertVerifier for CachedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A poisoned lock only means a panic elsewhere; the memo is still either valid or absent.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last
            .as_ref()
            .is_some_and(|a| a.matches(end_entity, intermediates, server_name, ocsp))
        {
            return Ok(ServerCertVerified::assertion());
        }
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        *last = Some(Accepted {
            end_entity: end_entity.to_vec(),
            intermediates: intermediates.iter().map(|c| c.to_vec()).collect(),
            server_name: server_name.to_owned(),
            ocsp: ocsp.to_vec(),
            at: Instant::now(),
        });
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

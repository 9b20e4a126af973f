//! Certificate revocation lists (`tls.crl`): loaded for the handshake verifier, which checks the
//! whole client chain, and kept as plain data so that every request on an open connection is
//! checked again: a client revoked by a reload is refused on its next request, not only on its
//! next handshake. Expiry dates are kept for the warnings (a CRL past its next-update time makes
//! every client it covers fail).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateRevocationListDer;
use time::OffsetDateTime;
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509Certificate};

use super::pem::PemError;

/// What a CRL says about certificates from one issuer.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    pub path: PathBuf,
    /// The issuer's name, DER.
    issuer: Vec<u8>,
    pub next_update: Option<OffsetDateTime>,
    revoked: HashSet<Vec<u8>>,
}

/// A certificate as revocation sees it: its issuer and serial.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertId {
    issuer: Vec<u8>,
    serial: Vec<u8>,
}

fn trim(serial: &[u8]) -> Vec<u8> {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    serial[start..].to_vec()
}

impl CertId {
    pub fn from_der(der: &[u8]) -> Option<CertId> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(CertId {
            issuer: cert.issuer().as_raw().to_vec(),
            serial: trim(cert.raw_serial()),
        })
    }
}

/// Why a client certificate is refused by revocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationProblem {
    #[error("this client certificate has been revoked")]
    Revoked,
    #[error("a certificate in this client's chain has been revoked")]
    IntermediateRevoked,
    #[error("the revocation list covering this client certificate ({}) expired on {at}", path.display())]
    Expired { path: PathBuf, at: String },
    #[error("no configured revocation list covers this client certificate's issuer")]
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    #[error(transparent)]
    Pem(#[from] PemError),
    #[error("{} holds a CRL that cannot be parsed", path.display())]
    Parse { path: PathBuf },
}

/// The loaded `tls.crl` files.
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    crls: Vec<CrlInfo>,
}

fn asn1_time(t: x509_parser::time::ASN1Time) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

impl Revocations {
    /// Reads every CRL in `paths`: the DER for the verifier and the parsed data.
    pub fn load(
        paths: &[PathBuf],
    ) -> Result<(Revocations, Vec<CertificateRevocationListDer<'static>>), CrlError> {
        let mut ders = Vec::new();
        let mut crls = Vec::new();
        for path in paths {
            let found = read(path)?;
            for der in found {
                let (_, crl) = CertificateRevocationList::from_der(der.as_ref())
                    .map_err(|_| CrlError::Parse { path: path.clone() })?;
                crls.push(CrlInfo {
                    path: path.clone(),
                    issuer: crl.issuer().as_raw().to_vec(),
                    next_update: crl.next_update().and_then(asn1_time),
                    revoked: crl
                        .iter_revoked_certificates()
                        .map(|r| trim(r.raw_serial()))
                        .collect(),
                });
                ders.push(der);
            }
        }
        Ok((Revocations { crls }, ders))
    }

    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    pub fn crls(&self) -> &[CrlInfo] {
        &self.crls
    }

    /// Checks a client's leaf and the intermediates it sent, at `now`.
    pub fn check(
        &self,
        leaf: &CertId,
        intermediates: &[CertId],
        now: OffsetDateTime,
    ) -> Result<(), RevocationProblem> {
        if self.crls.is_empty() {
            return Ok(());
        }
        for id in intermediates {
            if self
                .crls
                .iter()
                .any(|c| c.issuer == id.issuer && c.revoked.contains(&id.serial))
            {
                return Err(RevocationProblem::IntermediateRevoked);
            }
        }
        let covering: Vec<&CrlInfo> = self
            .crls
            .iter()
            .filter(|c| c.issuer == leaf.issuer)
            .collect();
        if covering.iter().any(|c| c.revoked.contains(&leaf.serial)) {
            return Err(RevocationProblem::Revoked);
        }
        if covering.is_empty() {
            return Err(RevocationProblem::Unknown);
        }
        if let Some(expired) = covering
            .iter()
            .find(|c| c.next_update.is_some_and(|n| n < now))
        {
            let at = expired
                .next_update
                .and_then(|n| {
                    n.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            return Err(RevocationProblem::Expired {
                path: expired.path.clone(),
                at,
            });
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PemError> {
    let ders = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| super::pem::error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| super::pem::error(path, e))?;
    if ders.is_empty() {
        return Err(PemError::Empty {
            path: path.to_path_buf(),
            what: "X509 CRL block",
        });
    }
    Ok(ders)
}

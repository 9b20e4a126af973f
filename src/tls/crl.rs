//! Certificate revocation lists (`tls.crl`): loaded for the handshake verifier, which checks the
//! whole client chain, and kept as plain data so that every request on an open connection is
//! checked again: a client revoked by a reload is refused on its next request, not only on its
//! next handshake. Expiry dates are kept for the warnings (a CRL past its next-update time makes
//! every client it covers fail).
//!
//! A CRL covers a certificate when the CRL's issuer is the certificate's issuer **and** their
//! authority key identifiers agree (RFC 5280 section 5.2.1 and 4.2.1.1): two CAs may share a name
//! (every CA made by earlier dockgate versions was `O=dockgate, CN=dockgate CA`), never a key. The
//! name alone decides only when one side carries no key identifier. At load, each CRL is also
//! checked against the CAs of `tls.ca` that bear its issuer's name: the one whose key signed it is
//! its issuer ([`Revocations::attribute`]). A CRL bearing a bundle CA's name that none of them
//! signed is ignored on both paths (handshake and per request) and reported, never trusted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateRevocationListDer, SignatureVerificationAlgorithm};
use time::OffsetDateTime;
use x509_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{
    CertificateRevocationList, FromDer, ParsedExtension, X509Certificate, X509Extension,
};

use super::pem::PemError;

/// A CA of the `tls.ca` bundle, as revocation and chain building see it.
#[derive(Debug, Clone)]
pub struct BundleCa {
    /// The subject, DER (with its SEQUENCE header, as x509-parser gives names).
    pub subject: Vec<u8>,
    /// The subject as text, for messages.
    pub name: String,
    /// The SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// The subjectKeyIdentifier, when the certificate has one.
    pub ski: Option<Vec<u8>>,
}

impl BundleCa {
    pub fn from_der(der: &[u8]) -> Option<BundleCa> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let ski = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
        Some(BundleCa {
            subject: cert.subject().as_raw().to_vec(),
            name: cert.subject().to_string(),
            spki: cert.public_key().raw.to_vec(),
            ski,
        })
    }
}

/// Who signed a CRL, as [`Revocations::attribute`] found out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signer {
    /// Not looked at (no CA bundle given): trusted as before.
    Unchecked,
    /// The bundle CA with this SubjectPublicKeyInfo.
    BundleCa(Vec<u8>),
    /// No bundle CA has the CRL's issuer name: an intermediate's CRL, checked by the handshake
    /// against the intermediate the client sends.
    NotInBundle,
    /// Bundle CAs bear its issuer's name, but none of them signed it.
    Unsigned,
}

/// What a CRL says about certificates from one issuer.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    pub path: PathBuf,
    /// The issuer's name, DER.
    issuer: Vec<u8>,
    /// The CRL's authorityKeyIdentifier, else the subjectKeyIdentifier of the bundle CA that
    /// signed it.
    aki: Option<Vec<u8>>,
    pub next_update: Option<OffsetDateTime>,
    revoked: HashSet<Vec<u8>>,
    der: CertificateRevocationListDer<'static>,
    signer: Signer,
}

impl CrlInfo {
    /// The issuer's name as `CN=…, O=…` (its DER in hex when it does not parse).
    pub fn issuer_name(&self) -> String {
        use x509_parser::prelude::{FromDer, X509Name};
        match X509Name::from_der(&self.issuer) {
            Ok((_, name)) => name.to_string(),
            Err(_) => self.issuer.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Whether this CRL speaks for the issuer of `id`: same name, and the same key identifier
    /// when both sides carry one.
    fn covers(&self, id: &CertId) -> bool {
        self.signer != Signer::Unsigned
            && self.issuer == id.issuer
            && match (&self.aki, &id.aki) {
                (Some(crl), Some(cert)) => crl == cert,
                _ => true,
            }
    }

    /// Whether the handshake verifier of a group of CAs may use this CRL: not when a CA of the
    /// group bears the CRL's issuer name but did not sign it (rustls-webpki picks a CRL by
    /// issuer name only, then fails on its signature).
    pub(super) fn usable_with<'a>(&self, group: impl IntoIterator<Item = &'a BundleCa>) -> bool {
        group
            .into_iter()
            .filter(|ca| ca.subject == self.issuer)
            .all(|ca| self.signed_by(ca))
    }

    pub(super) fn der(&self) -> &CertificateRevocationListDer<'static> {
        &self.der
    }

    /// Whether this CRL was signed by the bundle CA `ca`.
    pub(super) fn signed_by(&self, ca: &BundleCa) -> bool {
        matches!(&self.signer, Signer::BundleCa(spki) if *spki == ca.spki)
    }
}

/// A certificate as revocation sees it: its issuer, authority key identifier and serial.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertId {
    issuer: Vec<u8>,
    aki: Option<Vec<u8>>,
    serial: Vec<u8>,
}

fn trim(serial: &[u8]) -> Vec<u8> {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    serial[start..].to_vec()
}

/// The keyIdentifier of an authorityKeyIdentifier extension among `extensions`.
fn authority_key_id(extensions: &[X509Extension<'_>]) -> Option<Vec<u8>> {
    extensions.iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            aki.key_identifier.as_ref().map(|k| k.0.to_vec())
        }
        _ => None,
    })
}

impl CertId {
    pub fn from_der(der: &[u8]) -> Option<CertId> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(CertId {
            issuer: cert.issuer().as_raw().to_vec(),
            aki: authority_key_id(cert.extensions()),
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

/// Something about the CRLs and the CA bundle that makes clients fail, found at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlWarning {
    #[error(
        "{}: this CRL names `{issuer}` as its issuer, but no CA of that name in tls.ca signed it; it is ignored",
        path.display()
    )]
    NotSignedByBundleCa { path: PathBuf, issuer: String },
    #[error(
        "tls.ca: no CRL in tls.crl is signed by the CA `{ca}`: every client certificate that chains to it is refused"
    )]
    CaWithoutCrl { ca: String },
}

/// The loaded `tls.crl` files.
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    crls: Vec<CrlInfo>,
    warnings: Vec<CrlWarning>,
}

fn asn1_time(t: x509_parser::time::ASN1Time) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

impl Revocations {
    /// Reads and parses every CRL in `paths`.
    pub fn load(paths: &[PathBuf]) -> Result<Revocations, CrlError> {
        let mut crls = Vec::new();
        for path in paths {
            for der in read(path)? {
                let (_, crl) = CertificateRevocationList::from_der(der.as_ref())
                    .map_err(|_| CrlError::Parse { path: path.clone() })?;
                crls.push(CrlInfo {
                    path: path.clone(),
                    issuer: crl.issuer().as_raw().to_vec(),
                    aki: authority_key_id(crl.extensions()),
                    next_update: crl.next_update().and_then(asn1_time),
                    revoked: crl
                        .iter_revoked_certificates()
                        .map(|r| trim(r.raw_serial()))
                        .collect(),
                    signer: Signer::Unchecked,
                    der: der.clone(),
                });
            }
        }
        Ok(Revocations {
            crls,
            warnings: Vec::new(),
        })
    }

    /// Works out which CA of the bundle signed each CRL, verifying the CRL's signature with the
    /// key of each CA that bears its issuer's name. A CRL none of them signed is ignored from
    /// then on; it and every bundle CA left without a CRL are reported in [`Self::warnings`].
    pub fn attribute(&mut self, cas: &[BundleCa], algs: &[&dyn SignatureVerificationAlgorithm]) {
        for crl in &mut self.crls {
            let mut named = cas.iter().filter(|ca| ca.subject == crl.issuer).peekable();
            if named.peek().is_none() {
                crl.signer = Signer::NotInBundle;
                continue;
            }
            let signer = named.find(|ca| signature_valid(crl.der.as_ref(), &ca.spki, algs));
            match signer {
                Some(ca) => {
                    crl.signer = Signer::BundleCa(ca.spki.clone());
                    if crl.aki.is_none() {
                        crl.aki = ca.ski.clone();
                    }
                }
                None => {
                    crl.signer = Signer::Unsigned;
                    let issuer = cas
                        .iter()
                        .find(|ca| ca.subject == crl.issuer)
                        .map(|ca| ca.name.clone())
                        .unwrap_or_default();
                    self.warnings.push(CrlWarning::NotSignedByBundleCa {
                        path: crl.path.clone(),
                        issuer,
                    });
                }
            }
        }
        if self.crls.is_empty() {
            return;
        }
        for ca in cas {
            if !self.crls.iter().any(|c| c.signed_by(ca)) {
                self.warnings.push(CrlWarning::CaWithoutCrl {
                    ca: ca.name.clone(),
                });
            }
        }
    }

    /// What [`Self::attribute`] found wrong.
    pub fn warnings(&self) -> &[CrlWarning] {
        &self.warnings
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
                .any(|c| c.covers(id) && c.revoked.contains(&id.serial))
            {
                return Err(RevocationProblem::IntermediateRevoked);
            }
        }
        let covering: Vec<&CrlInfo> = self.crls.iter().filter(|c| c.covers(leaf)).collect();
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

/// The parts of a signed X.509 object (`SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }`):
/// the signed bytes, the algorithm identifier's contents and the signature, as rustls-webpki's
/// `signed_data` takes them.
fn signed_parts(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (_, outer) = Any::from_der(der).ok()?;
    let inner = outer.data;
    let (after_tbs, _) = Any::from_der(inner).ok()?;
    let tbs = &inner[..inner.len() - after_tbs.len()];
    let (after_alg, alg) = Any::from_der(after_tbs).ok()?;
    let (_, sig) = Any::from_der(after_alg).ok()?;
    (alg.tag() == Tag::Sequence).then_some(())?;
    Some((tbs, alg.data, bit_string(&sig)?))
}

/// A SubjectPublicKeyInfo's algorithm identifier contents and key bits.
fn spki_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, outer) = Any::from_der(der).ok()?;
    let (rest, alg) = Any::from_der(outer.data).ok()?;
    let (_, key) = Any::from_der(rest).ok()?;
    (alg.tag() == Tag::Sequence).then_some(())?;
    Some((alg.data, bit_string(&key)?))
}

/// A BIT STRING's bytes, when it has no unused bits (signatures and keys never do).
fn bit_string<'a>(any: &Any<'a>) -> Option<&'a [u8]> {
    (any.tag() == Tag::BitString).then_some(())?;
    match any.data.split_first() {
        Some((0, bits)) => Some(bits),
        _ => None,
    }
}

/// Whether the key in `spki` signed the CRL `der`, with one of `algs` (the provider's, so exactly
/// the algorithms the handshake accepts).
fn signature_valid(der: &[u8], spki: &[u8], algs: &[&dyn SignatureVerificationAlgorithm]) -> bool {
    let (Some((tbs, sig_alg, sig)), Some((key_alg, key))) = (signed_parts(der), spki_parts(spki))
    else {
        return false;
    };
    algs.iter()
        .filter(|a| {
            a.signature_alg_id().as_ref() == sig_alg && a.public_key_alg_id().as_ref() == key_alg
        })
        .any(|a| a.verify_signature(key, tbs, sig).is_ok())
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

#[cfg(test)]
mod tests {
    use super::super::test_ca::{ca, crl, Ca};
    use super::{BundleCa, CertId, CrlWarning, RevocationProblem, Revocations};
    use rcgen::{CertificateParams, DnType, KeyPair, SerialNumber};
    use time::OffsetDateTime;

    /// A leaf of `ca` with serial `serial`, with or without an authorityKeyIdentifier.
    fn leaf(ca: &Ca, serial: u64, aki: bool) -> CertId {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "alice");
        p.serial_number = Some(SerialNumber::from(serial));
        p.use_authority_key_identifier_extension = aki;
        let der = p.signed_by(&key, &ca.issuer).expect("leaf").der().to_vec();
        CertId::from_der(&der).expect("id")
    }

    fn algs() -> &'static [&'static dyn rustls_pki_types::SignatureVerificationAlgorithm] {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all
    }

    #[test]
    fn same_name_cas_are_told_apart_by_key_identifier() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (one, two) = (ca("dockgate CA"), ca("dockgate CA"));
        let paths = [
            crl(&one, &[10], dir.path(), "one.pem"),
            crl(&two, &[20], dir.path(), "two.pem"),
        ];
        let mut r = Revocations::load(&paths).expect("load");
        let cas: Vec<BundleCa> = [&one, &two]
            .iter()
            .map(|c| BundleCa::from_der(&c.der).expect("ca"))
            .collect();
        r.attribute(&cas, algs());
        assert!(r.warnings().is_empty(), "{:?}", r.warnings());
        let now = OffsetDateTime::now_utc();
        assert_eq!(r.check(&leaf(&one, 11, true), &[], now), Ok(()));
        assert_eq!(r.check(&leaf(&two, 21, true), &[], now), Ok(()));
        assert_eq!(
            r.check(&leaf(&one, 10, true), &[], now),
            Err(RevocationProblem::Revoked)
        );
        assert_eq!(
            r.check(&leaf(&two, 20, true), &[], now),
            Err(RevocationProblem::Revoked)
        );
        // Serial 20 is revoked by two's CRL only: a certificate of one with that serial is not.
        assert_eq!(r.check(&leaf(&one, 20, true), &[], now), Ok(()));
        // Without a key identifier, the name decides: both CRLs cover it (fail closed).
        assert_eq!(
            r.check(&leaf(&one, 20, false), &[], now),
            Err(RevocationProblem::Revoked)
        );
    }

    #[test]
    fn a_crl_no_bundle_ca_signed_is_ignored_and_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (trusted, stranger) = (ca("dockgate CA"), ca("dockgate CA"));
        let paths = [crl(&stranger, &[], dir.path(), "stranger.pem")];
        let mut r = Revocations::load(&paths).expect("load");
        let cas = [BundleCa::from_der(&trusted.der).expect("ca")];
        r.attribute(&cas, algs());
        assert!(matches!(
            r.warnings(),
            [
                CrlWarning::NotSignedByBundleCa { .. },
                CrlWarning::CaWithoutCrl { .. }
            ]
        ));
        // Even a leaf without a key identifier is not covered by it.
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            r.check(&leaf(&trusted, 5, false), &[], now),
            Err(RevocationProblem::Unknown)
        );
    }
}

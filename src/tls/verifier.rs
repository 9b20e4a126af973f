//! Client-certificate verification: WebPKI path validation to the configured CA, plus the checks
//! WebPKI leaves out.
//!
//! rustls-webpki accepts a leaf without an extended-key-usage extension as fit for client
//! authentication (`KeyUsage::required_if_present`). dockgate requires the clientAuth EKU to be
//! present, and refuses leaves that are CA certificates, so a server certificate or a CA's own
//! certificate can never be used to log in.
//!
//! The client chooses what it sends, and rustls-webpki builds paths through it before it checks
//! a single signature: a few kilobytes of intermediates that all bear one subject make one
//! handshake explore up to 200,000 paths (measured with rustls-webpki 0.103 optimised: 140 to
//! 220 ms of CPU per handshake from 8 certificates, 3 KiB, up; not one signature checked), or,
//! named like the CA, spend its whole budget of 100 signature checks (7 to 19 ms), all before
//! the client proves anything. So before path building, dockgate refuses a client that sends more than
//! [`MAX_INTERMEDIATES`] intermediates, more than [`MAX_CHAIN_BYTES`] of certificates, an
//! intermediate it cannot parse, or two different intermediates with the same subject (a chain
//! never needs both; path building then has one candidate per step, so a handful of paths).
//!
//! rustls-webpki picks the CRL for a certificate by issuer name alone (the first match in
//! `RevocationOptions::check`, `src/crl/mod.rs`), then fails on its signature if another CA of the
//! same name signed it. CAs of `tls.ca` that share a subject (CA rotation with CAs made by older
//! dockgate versions) are therefore split into groups in which no two CAs share a subject, each
//! with its own WebPKI verifier and only the CRLs its CAs signed (checked at load, see
//! [`super::crl`]); a client is accepted when the verifier of one group accepts it. Each group's
//! verifier is complete and fail-closed on its own, so the union refuses whatever all refuse.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore,
    SignatureScheme,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::crl::{BundleCa, Revocations};

/// The most intermediate certificates a client may send (root → three intermediates → leaf, with
/// the root sent along).
pub const MAX_INTERMEDIATES: usize = 4;
/// The most bytes of certificates (leaf and intermediates, DER) a client may send.
pub const MAX_CHAIN_BYTES: usize = 32 * 1024;

/// Wraps WebPKI client verifiers (one per group of CAs) with dockgate's chain and leaf checks.
#[derive(Debug)]
pub struct ClientVerifier {
    groups: Vec<Arc<dyn ClientCertVerifier>>,
    hints: Vec<DistinguishedName>,
    algs: WebPkiSupportedAlgorithms,
}

/// Why the CA bundle gives no verifier.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("a certificate in the bundle is not a usable CA")]
    BadCa(#[source] rustls::Error),
    #[error("cannot build a client verifier")]
    Verifier(#[source] VerifierBuilderError),
}

impl ClientVerifier {
    /// One WebPKI verifier, wrapped.
    pub fn new(inner: Arc<dyn ClientCertVerifier>) -> ClientVerifier {
        ClientVerifier {
            hints: inner.root_hint_subjects().to_vec(),
            groups: vec![inner],
            algs: super::provider().signature_verification_algorithms,
        }
    }

    /// The verifier for the CAs `cas` and the CRLs `revocations` (which learns here which CA
    /// signed each CRL). A CRL past its next-update time fails every client it covers; with CRLs
    /// configured, a client whose issuer no CRL covers is refused too.
    pub fn build(
        cas: &[CertificateDer<'static>],
        revocations: &mut Revocations,
        provider: Arc<CryptoProvider>,
    ) -> Result<ClientVerifier, BuildError> {
        let mut bundle = Vec::with_capacity(cas.len());
        for der in cas {
            RootCertStore::empty()
                .add(der.clone())
                .map_err(BuildError::BadCa)?;
            bundle.push(BundleCa::from_der(der).ok_or(BuildError::BadCa(
                rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
            ))?);
        }
        revocations.attribute(&bundle, provider.signature_verification_algorithms.all);
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, ca) in bundle.iter().enumerate() {
            let fits = |g: &Vec<usize>| {
                revocations.is_empty()
                    || g.iter()
                        .all(|&j| bundle[j].subject != ca.subject || bundle[j].spki == ca.spki)
            };
            match groups.iter_mut().find(|g| fits(g)) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        // Chain checks (certificate and CRL signatures) remember what passed; the client's
        // CertificateVerify signature is checked with the plain algorithms (`algs` below).
        let mut remembering = (*provider).clone();
        remembering.signature_verification_algorithms =
            super::sigcache::remembering(provider.signature_verification_algorithms);
        let chain_provider = Arc::new(remembering);
        let mut verifiers: Vec<Arc<dyn ClientCertVerifier>> = Vec::new();
        for group in &groups {
            let mut roots = RootCertStore::empty();
            for &i in group {
                roots.add(cas[i].clone()).map_err(BuildError::BadCa)?;
            }
            let crls: Vec<_> = revocations
                .crls()
                .iter()
                .filter(|c| c.usable_with(group.iter().map(|&i| &bundle[i])))
                .map(|c| c.der().clone())
                .collect();
            if !revocations.is_empty() && crls.is_empty() {
                // No CRL for these CAs: every client of theirs is refused (and reported by
                // `Revocations::warnings`); a verifier without CRLs would check none.
                continue;
            }
            let mut builder = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                chain_provider.clone(),
            );
            if !crls.is_empty() {
                builder = builder.with_crls(crls).enforce_revocation_expiration();
            }
            verifiers.push(builder.build().map_err(BuildError::Verifier)?);
        }
        let mut hints: Vec<DistinguishedName> = Vec::new();
        for v in &verifiers {
            for h in v.root_hint_subjects() {
                if !hints.iter().any(|seen| seen.as_ref() == h.as_ref()) {
                    hints.push(h.clone());
                }
            }
        }
        Ok(ClientVerifier {
            groups: verifiers,
            hints,
            algs: provider.signature_verification_algorithms,
        })
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

impl std::fmt::Display for LeafProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for LeafProblem {}

/// Why a client's chain is refused before path building.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    #[error("the client sent {count} intermediate certificates; at most {MAX_INTERMEDIATES} are accepted")]
    TooManyIntermediates { count: usize },
    #[error(
        "the client sent {bytes} bytes of certificates; at most {MAX_CHAIN_BYTES} are accepted"
    )]
    TooLarge { bytes: usize },
    #[error("the client sent an intermediate certificate that cannot be parsed")]
    UnparsableIntermediate,
    #[error("the client sent two intermediate certificates with the same subject")]
    RepeatedSubject,
}

/// Checks the shape of what a client sent, before any path building or signature check.
pub fn check_client_chain(
    end_entity: &[u8],
    intermediates: &[CertificateDer<'_>],
) -> Result<(), ChainProblem> {
    if intermediates.len() > MAX_INTERMEDIATES {
        return Err(ChainProblem::TooManyIntermediates {
            count: intermediates.len(),
        });
    }
    let bytes = end_entity.len() + intermediates.iter().map(|c| c.len()).sum::<usize>();
    if bytes > MAX_CHAIN_BYTES {
        return Err(ChainProblem::TooLarge { bytes });
    }
    let mut seen: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(intermediates.len());
    for der in intermediates {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|_| ChainProblem::UnparsableIntermediate)?;
        let subject = cert.subject().as_raw();
        // The same certificate twice is a harmless slip (path building skips the copy as a
        // loop); two different ones with one subject are what makes path building branch.
        if seen.iter().any(|(d, s)| s == subject && *d != der.as_ref()) {
            return Err(ChainProblem::RepeatedSubject);
        }
        seen.push((der.as_ref(), subject.to_vec()));
    }
    Ok(())
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

/// How much a refusal tells the client, to pick one among the groups' refusals (the way
/// rustls-webpki ranks its errors): a bad signature usually only means another group's CA.
fn rank(e: &rustls::Error) -> u8 {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => 4,
            C::Revoked
            | C::UnknownRevocationStatus
            | C::ExpiredRevocationList
            | C::ExpiredRevocationListContext { .. } => 3,
            C::BadSignature => 1,
            C::UnknownIssuer => 0,
            _ => 2,
        },
        _ => 2,
    }
}

impl ClientVerifier {
    /// Whether `der` names as its issuer one of the configured CAs, or one of the intermediates
    /// sent with it (by name only: for telling refusals apart, never for trust).
    fn issued_by_ours(&self, der: &[u8], intermediates: &[CertificateDer<'_>]) -> bool {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return false;
        };
        let issuer = cert.issuer().as_raw();
        self.hints.iter().any(|h| h.as_ref() == issuer)
            || intermediates.iter().any(|i| {
                X509Certificate::from_der(i).is_ok_and(|(_, c)| c.subject().as_raw() == issuer)
            })
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
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Err(problem) = check_client_chain(end_entity, intermediates) {
            tracing::info!(
                reason = %problem,
                fingerprint = %super::identity::fingerprint(end_entity),
                "client certificate refused"
            );
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(problem)),
            )));
        }
        let mut refusal: Option<rustls::Error> = None;
        for group in &self.groups {
            match group.verify_client_cert(end_entity, intermediates, now) {
                Ok(verified) => return leaf_verdict(end_entity, verified),
                Err(e) => {
                    refusal = Some(match refusal {
                        Some(prev) if rank(&prev) >= rank(&e) => prev,
                        _ => e,
                    })
                }
            }
        }
        let refusal = refusal.unwrap_or(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        // A CA certificate from one of our CAs sent as the client certificate: say so (WebPKI's
        // own error for it is opaque), unless a date or revocation already told more. A
        // stranger's self-signed CA certificate stays an unknown issuer.
        if rank(&refusal) < 3
            && check_client_leaf(end_entity) == Err(LeafProblem::IsCa)
            && self.issued_by_ours(end_entity, intermediates)
        {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(LeafProblem::IsCa)),
            )));
        }
        Err(refusal)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// dockgate's own leaf checks, once a WebPKI verifier accepted the chain.
fn leaf_verdict(
    end_entity: &CertificateDer<'_>,
    verified: ClientCertVerified,
) -> Result<ClientCertVerified, rustls::Error> {
    if let Err(problem) = check_client_leaf(end_entity) {
        tracing::info!(
            reason = problem.describe(),
            fingerprint = %super::identity::fingerprint(end_entity),
            "client certificate refused"
        );
        return Err(rustls::Error::InvalidCertificate(match problem {
            LeafProblem::Unparsable => CertificateError::BadEncoding,
            LeafProblem::NoClientAuthUsage => CertificateError::InvalidPurpose,
            LeafProblem::IsCa => CertificateError::Other(OtherError(Arc::new(problem))),
        }));
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, SerialNumber,
    };
    use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
    use rustls::pki_types::{
        AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
        UnixTime,
    };
    use rustls::server::danger::ClientCertVerifier;
    use rustls::server::WebPkiClientVerifier;
    use rustls::{CertificateError, RootCertStore};

    use super::super::test_ca::{ca, crl, Ca};
    use super::{ChainProblem, ClientVerifier, MAX_INTERMEDIATES};
    use crate::tls::{CrlWarning, Revocations};

    thread_local!(static SIGNATURES: Cell<usize> = const { Cell::new(0) });

    /// A signature algorithm that counts its verifications (per thread: tests run in parallel).
    #[derive(Debug)]
    struct Counting(&'static dyn SignatureVerificationAlgorithm);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(
            &self,
            key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            SIGNATURES.with(|c| c.set(c.get() + 1));
            self.0.verify_signature(key, message, signature)
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            self.0.public_key_alg_id()
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            self.0.signature_alg_id()
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    /// dockgate's provider with every certificate signature verification counted.
    fn counting_provider() -> Arc<CryptoProvider> {
        let mut p = crate::tls::provider().as_ref().clone();
        let all: Vec<&'static dyn SignatureVerificationAlgorithm> = p
            .signature_verification_algorithms
            .all
            .iter()
            .map(|a| {
                &*Box::leak(Box::new(Counting(*a))) as &'static dyn SignatureVerificationAlgorithm
            })
            .collect();
        p.signature_verification_algorithms = WebPkiSupportedAlgorithms {
            all: Box::leak(all.into_boxed_slice()),
            mapping: p.signature_verification_algorithms.mapping,
        };
        Arc::new(p)
    }

    /// Runs `f`, returning its result and how many signatures it verified.
    fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
        SIGNATURES.with(|c| c.set(0));
        let out = f();
        (out, SIGNATURES.with(Cell::get))
    }

    fn params(cn: &str, ca: bool) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        } else {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            p.use_authority_key_identifier_extension = true;
        }
        p
    }

    fn intermediate(parent: &Ca, cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let p = params(cn, true);
        let der = p
            .signed_by(&key, &parent.issuer)
            .expect("ica")
            .der()
            .clone();
        Ca {
            der,
            issuer: Issuer::new(p, key),
        }
    }

    fn leaf(issuer: &Ca, serial: u64) -> CertificateDer<'static> {
        let key = KeyPair::generate().expect("key");
        let mut p = params("alice", false);
        p.serial_number = Some(SerialNumber::from(serial));
        p.signed_by(&key, &issuer.issuer)
            .expect("leaf")
            .der()
            .clone()
    }

    /// A certificate named `subject` that claims `issuer` as its issuer, signed by a stranger.
    fn forged(subject: &str, issuer: &str, ca: bool) -> CertificateDer<'static> {
        let stranger = Issuer::new(params(issuer, true), KeyPair::generate().expect("key"));
        let key = KeyPair::generate().expect("key");
        params(subject, ca)
            .signed_by(&key, &stranger)
            .expect("forged")
            .der()
            .clone()
    }

    fn webpki_alone(root: &Ca, provider: Arc<CryptoProvider>) -> Arc<dyn ClientCertVerifier> {
        let mut roots = RootCertStore::empty();
        roots.add(root.der.clone()).expect("root");
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("verifier")
    }

    fn chain_problem(e: &rustls::Error) -> Option<ChainProblem> {
        match e {
            rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
                o.0.downcast_ref::<ChainProblem>().copied()
            }
            _ => None,
        }
    }

    /// The attack: a forged leaf and junk intermediates that all bear the same subject. Without
    /// the caps, rustls-webpki spends its whole signature budget on them (or explores paths for
    /// a second when they never reach the CA); with them, nothing is checked at all.
    #[test]
    fn junk_intermediates_are_refused_before_any_signature_check() {
        let root = ca("dockgate CA");
        let provider = counting_provider();
        let leaf = forged("mallory", "dockgate CA", false);
        let junk: Vec<_> = (0..8)
            .map(|_| forged("dockgate CA", "dockgate CA", true))
            .collect();
        let now = UnixTime::now();

        let bare = webpki_alone(&root, provider.clone());
        let (result, without_caps) = counted(|| bare.verify_client_cert(&leaf, &junk, now));
        assert!(result.is_err());
        assert_eq!(without_caps, 100, "rustls-webpki's whole signature budget");

        let capped = ClientVerifier::new(bare);
        for (n, want) in [
            (8, ChainProblem::TooManyIntermediates { count: 8 }),
            (MAX_INTERMEDIATES, ChainProblem::RepeatedSubject),
        ] {
            let (result, checks) = counted(|| capped.verify_client_cert(&leaf, &junk[..n], now));
            let err = result.expect_err("junk accepted");
            assert_eq!(chain_problem(&err), Some(want));
            assert_eq!(checks, 0, "signatures checked for {n} junk intermediates");
        }
    }

    /// Within the caps, intermediates with distinct subjects give path building one candidate
    /// per step: a handful of signature checks, whatever their names.
    #[test]
    fn chains_within_the_caps_cost_a_handful_of_signature_checks() {
        let root = ca("dockgate CA");
        let capped = ClientVerifier::new(webpki_alone(&root, counting_provider()));
        let now = UnixTime::now();
        let names = ["dockgate CA", "a", "b", "c"];
        let shapes: Vec<(CertificateDer<'static>, Vec<CertificateDer<'static>>)> = vec![
            // Each claims to be issued by the next, the last by the CA.
            (
                forged("mallory", "a", false),
                vec![
                    forged("a", "b", true),
                    forged("b", "c", true),
                    forged("c", "dockgate CA", true),
                    forged("dockgate CA", "dockgate CA", true),
                ],
            ),
            // All claim the CA's name as issuer.
            (
                forged("mallory", "dockgate CA", false),
                names
                    .iter()
                    .map(|n| forged(n, "dockgate CA", true))
                    .collect(),
            ),
            // Copies of one certificate bearing the CA's name.
            (forged("mallory", "dockgate CA", false), {
                let one = forged("dockgate CA", "dockgate CA", true);
                vec![one.clone(), one.clone(), one.clone(), one]
            }),
            // Two copies each of two certificates that issue each other.
            (forged("mallory", "dockgate CA", false), {
                let (x, y) = (
                    forged("dockgate CA", "y", true),
                    forged("y", "dockgate CA", true),
                );
                vec![x.clone(), y.clone(), x, y]
            }),
        ];
        for (leaf, intermediates) in shapes {
            let (result, checks) =
                counted(|| capped.verify_client_cert(&leaf, &intermediates, now));
            assert!(result.is_err());
            assert!(checks <= MAX_INTERMEDIATES + 1, "{checks} signature checks");
        }
    }

    #[test]
    fn a_chain_through_one_intermediate_still_verifies() {
        let root = ca("root");
        let ica = intermediate(&root, "clients intermediate");
        let capped = ClientVerifier::new(webpki_alone(&root, counting_provider()));
        let leaf = leaf(&ica, 7);
        let (result, checks) = counted(|| {
            capped.verify_client_cert(&leaf, std::slice::from_ref(&ica.der), UnixTime::now())
        });
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(checks, 2, "the leaf and the intermediate");
        // The same intermediate twice is a slip, not an attack.
        let twice = [ica.der.clone(), ica.der.clone()];
        assert!(capped
            .verify_client_cert(&leaf, &twice, UnixTime::now())
            .is_ok());
        // Another certificate with the intermediate's subject is refused.
        let other = [
            ica.der.clone(),
            forged("clients intermediate", "root", true),
        ];
        let err = capped
            .verify_client_cert(&leaf, &other, UnixTime::now())
            .expect_err("two intermediates with one subject");
        assert_eq!(chain_problem(&err), Some(ChainProblem::RepeatedSubject));
    }

    /// Two CAs with one name, each with its CRL: clients of both get in, revoked ones of both
    /// are refused, as rustls-webpki alone cannot do.
    #[test]
    fn cas_sharing_a_name_each_use_their_own_crl() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (one, two) = (ca("dockgate CA"), ca("dockgate CA"));
        let paths = [
            crl(&one, &[10], dir.path(), "one.pem"),
            crl(&two, &[20], dir.path(), "two.pem"),
        ];
        // A third CA of that name, which nobody issued a CRL for.
        let three = ca("dockgate CA");
        let mut revocations = Revocations::load(&paths).expect("crls");
        let cas = [one.der.clone(), two.der.clone(), three.der.clone()];
        let v = ClientVerifier::build(&cas, &mut revocations, crate::tls::provider())
            .expect("verifier");
        assert!(
            matches!(revocations.warnings(), [CrlWarning::CaWithoutCrl { .. }]),
            "{:?}",
            revocations.warnings()
        );
        let now = UnixTime::now();
        for (issuer, serial) in [(&one, 11), (&two, 21)] {
            let r = v.verify_client_cert(&leaf(issuer, serial), &[], now);
            assert!(r.is_ok(), "serial {serial}: {r:?}");
        }
        for (issuer, serial) in [(&one, 10), (&two, 20)] {
            let r = v.verify_client_cert(&leaf(issuer, serial), &[], now);
            assert!(
                matches!(
                    r,
                    Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
                ),
                "serial {serial}: {r:?}"
            );
        }
        let r = v.verify_client_cert(&leaf(&three, 30), &[], now);
        assert!(r.is_err(), "a client of a CA without CRL got in");
    }
}

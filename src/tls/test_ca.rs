//! Test CAs and CRLs for the unit tests of this module (the integration tests have their own PKI
//! in tests/common/pki.rs).

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

pub struct Ca {
    pub der: CertificateDer<'static>,
    pub issuer: Issuer<'static, KeyPair>,
}

/// The parameters of a CA certificate named `CN=cn`.
pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

/// A self-signed CA named `CN=cn`; two of them with the same `cn` share their subject, not their
/// key.
pub fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let p = ca_params(cn);
    let der = p.self_signed(&key).expect("ca").der().clone();
    Ca {
        der,
        issuer: Issuer::new(p, key),
    }
}

/// A CRL of `ca`, valid for a day, revoking `revoked`, written to `dir/name`.
pub fn crl(ca: &Ca, revoked: &[u64], dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let now = OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: now - Duration::minutes(1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let pem = params
        .signed_by(&ca.issuer)
        .expect("crl")
        .pem()
        .expect("pem");
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write");
    path
}

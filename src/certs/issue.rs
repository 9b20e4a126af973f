//! Issuing certificates with rcgen: the CA, server certificates (EKU serverAuth) and client
//! certificates (EKU clientAuth).

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    PKCS_ECDSA_P256_SHA256,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("cannot create a certificate")]
    Rcgen(#[from] rcgen::Error),
    #[error("cannot draw a random serial number")]
    Random,
    #[error("`{0}` is not a usable DNS name")]
    BadName(String),
}

pub const CA_DAYS: i64 = 3650;
pub const LEAF_DAYS: i64 = 365;

/// A freshly issued certificate and its key, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA able to sign.
pub struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn serial() -> Result<SerialNumber, IssueError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| IssueError::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn params(cn: &str, days: i64) -> Result<CertificateParams, IssueError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "dockgate");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::minutes(5);
    p.not_after = now + Duration::days(days);
    p.serial_number = Some(serial()?);
    Ok(p)
}

impl Ca {
    pub fn generate() -> Result<Ca, IssueError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut p = params("dockgate CA", CA_DAYS)?;
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key)?;
        Ok(Ca { cert, key })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    fn leaf(&self, mut p: CertificateParams) -> Result<Issued, IssueError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        p.is_ca = IsCa::ExplicitNoCa;
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = p.signed_by(&key, &self.cert, &self.key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A server certificate for `hosts` and `ips`.
    pub fn server(&self, hosts: &[String], ips: &[IpAddr]) -> Result<Issued, IssueError> {
        let first = hosts.first().map(String::as_str).unwrap_or("dockgate");
        let mut p = params(first, LEAF_DAYS)?;
        for h in hosts {
            let name = h
                .clone()
                .try_into()
                .map_err(|_| IssueError::BadName(h.clone()))?;
            p.subject_alt_names.push(SanType::DnsName(name));
        }
        for ip in ips {
            p.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.leaf(p)
    }

    /// A client certificate whose CN is `name`.
    pub fn client(&self, name: &str) -> Result<Issued, IssueError> {
        let mut p = params(name, LEAF_DAYS)?;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.leaf(p)
    }
}

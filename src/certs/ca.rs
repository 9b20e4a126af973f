//! The CA itself: creating it, loading it back from `ca.pem` and `ca-key.pem`, and signing
//! server certificates (EKU serverAuth), client certificates (EKU clientAuth) and CRLs.
//!
//! Every CA gets a name of its own, `O=dockgate, CN=dockgate CA 3f9a61c2` (32 random bits):
//! during a CA rotation both CAs sit in one bundle with both CRLs, and verifiers (rustls-webpki,
//! OpenSSL) pick a CRL by its issuer's name. Certificates carry an authorityKeyIdentifier and
//! CRLs one too, so even CAs that share a name (made before) can be told apart.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

use super::book::{Issued, Kind};
use super::keys::{self, KeyError, KeyType};

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a usable CA certificate or key", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot create a certificate")]
    Sign(#[from] rcgen::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot draw random bits for a serial number or a CA name")]
    Random,
    #[error("`{0}` is not a usable DNS name")]
    BadName(String),
    #[error("at most two --ou values are supported, not {0}")]
    TooManyOus(usize),
    #[error("cannot format a date")]
    Time(#[from] time::error::Format),
}

/// A certificate just made, with its key, as PEM, and its bookkeeping entry.
pub struct Made {
    pub cert_pem: String,
    pub key_pem: String,
    pub record: Issued,
}

/// What a leaf certificate is for.
pub enum Role<'a> {
    Server {
        hosts: &'a [String],
        ips: &'a [IpAddr],
    },
    Client {
        ous: &'a [String],
    },
}

/// A CA able to sign.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
}

/// The CN of a new CA: `dockgate CA` and eight random hex digits.
fn ca_name() -> Result<String, CaError> {
    let mut bytes = [0u8; 4];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CaError::Random)?;
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("dockgate CA {suffix}"))
}

fn serial() -> Result<(SerialNumber, String), CaError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CaError::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok((SerialNumber::from_slice(&bytes), hex))
}

fn rfc3339(t: OffsetDateTime) -> Result<String, CaError> {
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

fn params(cn: &str, days: i64) -> Result<(CertificateParams, String), CaError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "dockgate");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::minutes(5);
    p.not_after = now + Duration::days(days);
    let (number, hex) = serial()?;
    p.serial_number = Some(number);
    Ok((p, hex))
}

fn record(
    p: &CertificateParams,
    der: &[u8],
    serial: String,
    kind: Kind,
    name: &str,
    key_type: KeyType,
    file: &str,
) -> Result<Issued, CaError> {
    let subject = x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_default();
    Ok(Issued {
        serial,
        kind,
        name: name.to_string(),
        subject,
        key_type: key_type.to_string(),
        not_before: rfc3339(p.not_before)?,
        not_after: rfc3339(p.not_after)?,
        file: file.to_string(),
        revoked: None,
    })
}

impl Ca {
    /// A new self-signed CA.
    pub fn generate(key_type: KeyType, days: i64) -> Result<(Ca, Made), CaError> {
        let key = keys::generate(key_type)?;
        let name = ca_name()?;
        let (mut p, serial) = params(&name, days)?;
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key)?;
        let made = Made {
            cert_pem: cert.pem(),
            key_pem: keys::to_pem(&key),
            record: record(&p, cert.der(), serial, Kind::Ca, &name, key_type, "ca.pem")?,
        };
        let ca = Ca {
            cert_pem: made.cert_pem.clone(),
            issuer: Issuer::new(p, key),
        };
        Ok((ca, made))
    }

    /// The CA in `dir` (`ca.pem`, `ca-key.pem`).
    pub fn load(dir: &Path) -> Result<Ca, CaError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| CaError::Read { path, source })
        };
        let cert_pem = read("ca.pem")?;
        let key = KeyPair::from_pem(&read("ca-key.pem")?).map_err(|source| CaError::Load {
            path: dir.join("ca-key.pem"),
            source,
        })?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|source| CaError::Load {
            path: dir.join("ca.pem"),
            source,
        })?;
        Ok(Ca { issuer, cert_pem })
    }

    /// A leaf certificate named `cn`, valid for `days`, with a new key of `key_type`.
    pub fn issue(
        &self,
        cn: &str,
        role: Role<'_>,
        days: i64,
        key_type: KeyType,
        file: &str,
    ) -> Result<Made, CaError> {
        let key = keys::generate(key_type)?;
        let (mut p, serial) = params(cn, days)?;
        p.is_ca = IsCa::ExplicitNoCa;
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if matches!(
            key_type,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096
        ) {
            p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        let kind = match role {
            Role::Server { hosts, ips } => {
                for h in hosts {
                    let name = h
                        .clone()
                        .try_into()
                        .map_err(|_| CaError::BadName(h.clone()))?;
                    p.subject_alt_names.push(SanType::DnsName(name));
                }
                for ip in ips {
                    p.subject_alt_names.push(SanType::IpAddress(*ip));
                }
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                Kind::Server
            }
            Role::Client { ous } => {
                // rcgen keys a subject by attribute type, so a second OU goes in under the OU's
                // OID spelled as a custom type; more than two cannot be expressed.
                let ou_types = [
                    DnType::OrganizationalUnitName,
                    DnType::CustomDnType(vec![2, 5, 4, 11]),
                ];
                if ous.len() > ou_types.len() {
                    return Err(CaError::TooManyOus(ous.len()));
                }
                for (ou, ty) in ous.iter().zip(ou_types) {
                    p.distinguished_name.push(ty, ou.as_str());
                }
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                Kind::Client
            }
        };
        let cert = p.signed_by(&key, &self.issuer)?;
        Ok(Made {
            cert_pem: cert.pem(),
            key_pem: keys::to_pem(&key),
            record: record(&p, cert.der(), serial, kind, cn, key_type, file)?,
        })
    }

    /// A CRL listing `revoked` (serial hex, revocation time), numbered `number`, valid `days`.
    pub fn crl(
        &self,
        revoked: &[(Vec<u8>, OffsetDateTime)],
        number: u64,
        days: i64,
    ) -> Result<(String, OffsetDateTime), CaError> {
        let now = OffsetDateTime::now_utc();
        let next_update = now + Duration::days(days);
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(serial, at)| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: *at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        Ok((crl.pem()?, next_update))
    }
}

#[cfg(test)]
mod tests {
    use super::{Ca, Role};
    use crate::certs::KeyType;
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509Extension};

    fn der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .expect("pem")
            .1
            .contents
    }

    fn key_id(exts: &[X509Extension<'_>], authority: bool) -> Option<Vec<u8>> {
        exts.iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) if authority => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            ParsedExtension::SubjectKeyIdentifier(k) if !authority => Some(k.0.to_vec()),
            _ => None,
        })
    }

    /// Two CAs never share a subject, and the bookkeeping names each by its CN.
    #[test]
    fn every_ca_has_a_name_of_its_own() {
        let (one, made_one) = Ca::generate(KeyType::EcdsaP256, 10).expect("ca");
        let (two, made_two) = Ca::generate(KeyType::EcdsaP256, 10).expect("ca");
        let subject = |ca: &Ca| {
            let der = der(&ca.cert_pem);
            let (_, c) = X509Certificate::from_der(&der).expect("x509");
            c.subject().to_string()
        };
        assert_ne!(subject(&one), subject(&two));
        for (ca, made) in [(&one, &made_one), (&two, &made_two)] {
            assert!(
                made.record.name.starts_with("dockgate CA "),
                "{}",
                made.record.name
            );
            assert_eq!(made.record.subject, subject(ca));
            assert_eq!(
                made.record.subject,
                format!("O=dockgate, CN={}", made.record.name)
            );
        }
    }

    /// The leaf's authorityKeyIdentifier, the CRL's and the CA's subjectKeyIdentifier agree:
    /// what the gateway keys CRLs by.
    #[test]
    fn leaves_and_crls_carry_the_cas_key_identifier() {
        let (_, made) = Ca::generate(KeyType::EcdsaP256, 10).expect("ca");
        // As `certs issue` and `certs revoke` see it: loaded back from its files.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), &made.cert_pem).expect("write");
        std::fs::write(dir.path().join("ca-key.pem"), &made.key_pem).expect("write");
        let ca = Ca::load(dir.path()).expect("load");
        let leaf = ca
            .issue(
                "alice",
                Role::Client { ous: &[] },
                10,
                KeyType::EcdsaP256,
                "x",
            )
            .expect("leaf");
        let (crl, _) = ca.crl(&[], 1, 10).expect("crl");
        let ca_der = der(&ca.cert_pem);
        let leaf_der = der(&leaf.cert_pem);
        let crl_der = x509_parser::pem::parse_x509_pem(crl.as_bytes())
            .expect("pem")
            .1
            .contents;
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).expect("ca");
        let (_, leaf_cert) = X509Certificate::from_der(&leaf_der).expect("leaf");
        let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&crl_der)
            .expect("crl");
        let ski = key_id(ca_cert.extensions(), false).expect("ski");
        assert_eq!(key_id(leaf_cert.extensions(), true), Some(ski.clone()));
        assert_eq!(key_id(crl.extensions(), true), Some(ski));
    }
}

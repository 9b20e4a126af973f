//! A throw-away PKI for tests: a CA, a server certificate for localhost, and client certificates
//! good and bad, each written as a `DOCKER_CERT_PATH` bundle (ca.pem, cert.pem, key.pem).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SanType, SerialNumber,
};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

pub struct Authority {
    pub cert: Certificate,
    pub issuer: Issuer<'static, KeyPair>,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

impl Authority {
    pub fn new(cn: &str) -> Authority {
        let key = KeyPair::generate().expect("key");
        let p = ca_params(cn);
        let cert = p.self_signed(&key).expect("CA");
        Authority {
            cert,
            issuer: Issuer::new(p, key),
        }
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, cn: &str) -> Authority {
        let key = KeyPair::generate().expect("key");
        let p = ca_params(cn);
        let cert = p.signed_by(&key, &self.issuer).expect("intermediate");
        Authority {
            cert,
            issuer: Issuer::new(p, key),
        }
    }

    /// A CRL from this CA revoking the certificates with `serials` (hex), valid until
    /// `next_update` (which may be in the past).
    pub fn crl(&self, serials: &[String], next_update: OffsetDateTime) -> String {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: (next_update - Duration::days(30)).min(now - Duration::hours(1)),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&hex_bytes(s)),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .expect("crl")
            .pem()
            .expect("pem")
    }
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The serial (lower-case hex) of the first certificate in a PEM file.
pub fn serial_of(path: &Path) -> String {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_file(path).expect("pem");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
    cert.raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn server_pair(ca: &Authority) -> (String, String) {
    let now = OffsetDateTime::now_utc();
    server_pair_valid(ca, now - Duration::hours(1), now + Duration::days(30))
}

/// A server certificate (PEM) for localhost, 127.0.0.1 and ::1, valid between the two times,
/// signed by `ca`, and its key.
pub fn server_pair_valid(
    ca: &Authority,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    p.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    p.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    p.distinguished_name = dn("localhost");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = not_before;
    p.not_after = not_after;
    let cert = p.signed_by(&key, &ca.issuer).expect("server cert");
    (cert.pem(), key.serialize_pem())
}

fn is_self_signed(cert: &Certificate) -> bool {
    let (_, c) = x509_parser::parse_x509_certificate(cert.der()).expect("x509");
    c.issuer() == c.subject()
}

/// How a client certificate should be made.
#[derive(Clone)]
pub struct ClientSpec {
    pub cn: String,
    pub ous: Vec<String>,
    pub eku: Vec<ExtendedKeyUsagePurpose>,
    pub is_ca: bool,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub dns: Vec<String>,
    pub email: Vec<String>,
}

impl ClientSpec {
    pub fn new(cn: &str) -> ClientSpec {
        let now = OffsetDateTime::now_utc();
        ClientSpec {
            cn: cn.to_string(),
            ous: vec![],
            eku: vec![ExtendedKeyUsagePurpose::ClientAuth],
            is_ca: false,
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(30),
            dns: vec![],
            email: vec![],
        }
    }
}

/// A client bundle on disk.
#[derive(Clone, Debug)]
pub struct ClientCert {
    pub name: String,
    /// Folder with ca.pem, cert.pem, key.pem.
    pub dir: PathBuf,
}

impl ClientCert {
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

pub struct Pki {
    pub dir: TempDir,
    pub ca: Authority,
    pub ca_path: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("dockgate-pki")
            .tempdir()
            .expect("tempdir");
        let ca = Authority::new("dockgate test CA");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.cert.pem()).expect("write ca");
        let (cert, key) = server_pair(&ca);
        let server_cert = dir.path().join("server-cert.pem");
        let server_key = dir.path().join("server-key.pem");
        std::fs::write(&server_cert, cert).expect("write");
        std::fs::write(&server_key, key).expect("write");
        Pki {
            dir,
            ca,
            ca_path,
            server_cert,
            server_key,
        }
    }

    /// A fresh server certificate and key (PEM) for localhost, 127.0.0.1 and ::1.
    pub fn new_server_pair(&self) -> (String, String) {
        server_pair(&self.ca)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A good client certificate with CN `name`.
    pub fn client(&self, name: &str) -> ClientCert {
        self.client_spec(name, &ClientSpec::new(name))
    }

    /// A client certificate made to `spec`, signed by this PKI's CA, stored under `label`.
    pub fn client_spec(&self, label: &str, spec: &ClientSpec) -> ClientCert {
        self.issue(label, spec, &self.ca)
    }

    /// A client certificate signed by `issuer` (another CA), bundled with this PKI's ca.pem so
    /// that the client still trusts the server.
    pub fn issue(&self, label: &str, spec: &ClientSpec, issuer: &Authority) -> ClientCert {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        let mut d = dn(&spec.cn);
        for ou in &spec.ous {
            d.push(DnType::OrganizationalUnitName, ou.as_str());
        }
        p.distinguished_name = d;
        p.not_before = spec.not_before;
        p.not_after = spec.not_after;
        p.extended_key_usages = spec.eku.clone();
        if spec.is_ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::DigitalSignature,
            ];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        for d in &spec.dns {
            p.subject_alt_names
                .push(SanType::DnsName(d.clone().try_into().expect("dns")));
        }
        for e in &spec.email {
            p.subject_alt_names
                .push(SanType::Rfc822Name(e.clone().try_into().expect("email")));
        }
        let cert = p.signed_by(&key, &issuer.issuer).expect("client cert");
        let dir = self.path().join("clients").join(label);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("ca.pem"), self.ca.cert.pem()).expect("write");
        // An intermediate's certificates send their chain: leaf, then the intermediate.
        let mut chain = cert.pem();
        if issuer.cert.der() != self.ca.cert.der() && !is_self_signed(&issuer.cert) {
            chain.push_str(&issuer.cert.pem());
        }
        std::fs::write(dir.join("cert.pem"), chain).expect("write");
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
        ClientCert {
            name: label.to_string(),
            dir,
        }
    }
}

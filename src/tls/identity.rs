//! The client's identity, read from the verified leaf certificate: what `[[allow]]` matches on
//! and what the audit log records.

use std::fmt::Write as _;

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Who is on the other end of a connection, as its verified certificate says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The subject's common name, when the subject has exactly one.
    pub cn: Option<String>,
    pub ous: Vec<String>,
    /// DNS names from the subjectAltName extension, lower-cased.
    pub dns: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    /// Lower-case hex SHA-256 of the certificate's DER encoding.
    pub fingerprint: String,
    /// The serial number in hex.
    pub serial: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot parse the client certificate: {0}")]
pub struct IdentityError(String);

/// Lower-case hex SHA-256 of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl ClientIdentity {
    pub fn from_der(der: &[u8]) -> Result<ClientIdentity, IdentityError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| IdentityError(e.to_string()))?;
        let subject = cert.subject();
        let cns: Vec<&str> = subject
            .iter_common_name()
            .map(|a| a.as_str().unwrap_or(""))
            .collect();
        // A subject with several CNs is ambiguous; it matches no `cn` rule.
        let cn = match cns.as_slice() {
            [one] if !one.is_empty() => Some((*one).to_string()),
            _ => None,
        };
        let ous = subject
            .iter_organizational_unit()
            .filter_map(|a| a.as_str().ok().map(str::to_string))
            .collect();
        let mut id = ClientIdentity {
            cn,
            ous,
            fingerprint: fingerprint(der),
            serial: cert.raw_serial_as_string().replace(':', ""),
            ..ClientIdentity::default()
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => id.dns.push(d.to_ascii_lowercase()),
                    GeneralName::URI(u) => id.uris.push((*u).to_string()),
                    GeneralName::RFC822Name(e) => id.emails.push((*e).to_string()),
                    _ => {}
                }
            }
        }
        Ok(id)
    }

    /// The name used in logs: the CN with control characters escaped (a CN is the client's own
    /// text and must not be able to forge log lines), or `-` when there is none.
    pub fn display_name(&self) -> String {
        match self.cn.as_deref() {
            None => "-".to_string(),
            Some(cn) if cn.chars().any(char::is_control) => cn.escape_debug().to_string(),
            Some(cn) => cn.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientIdentity;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    /// A self-signed certificate with `subject` in openssl's `/CN=a/OU=b` form, which (unlike
    /// rcgen) can repeat attribute types.
    fn openssl_cert(subject: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("c.der");
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "1",
            ])
            .args([
                "-subj",
                subject,
                "-multivalue-rdn",
                "-outform",
                "DER",
                "-keyout",
            ])
            .arg(dir.path().join("k.pem"))
            .arg("-out")
            .arg(&out)
            .output()
            .expect("openssl");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::read(out).expect("read")
    }

    #[test]
    fn reads_names_sans_and_fingerprint() {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "alice");
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, "ops");
        p.subject_alt_names = vec![
            SanType::DnsName("Alice.Example.com".try_into().expect("dns")),
            SanType::URI("spiffe://example.com/alice".try_into().expect("uri")),
            SanType::Rfc822Name("alice@example.com".try_into().expect("email")),
        ];
        let der = p.self_signed(&key).expect("cert").der().to_vec();
        let id = ClientIdentity::from_der(&der).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("alice"));
        assert_eq!(id.ous, vec!["ops"]);
        assert_eq!(id.dns, vec!["alice.example.com"]);
        assert_eq!(id.uris, vec!["spiffe://example.com/alice"]);
        assert_eq!(id.emails, vec!["alice@example.com"]);
        assert_eq!(id.fingerprint, super::fingerprint(&der));
        assert_eq!(id.fingerprint.len(), 64);
    }

    #[test]
    fn every_ou_is_read_and_several_cns_match_no_cn_rule() {
        let id = ClientIdentity::from_der(&openssl_cert("/CN=alice/CN=admin/OU=ops/OU=oncall"))
            .expect("parse");
        assert_eq!(id.cn, None);
        assert_eq!(id.display_name(), "-");
        assert_eq!(id.ous, vec!["ops", "oncall"]);
    }

    #[test]
    fn control_characters_cannot_forge_log_lines() {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name
            .push(DnType::CommonName, "x\nINFO forged");
        let der = p.self_signed(&key).expect("cert").der().to_vec();
        let id = ClientIdentity::from_der(&der).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("x\nINFO forged"));
        assert_eq!(id.display_name(), "x\\nINFO forged");
    }
}

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

    /// The name used in logs: the CN, or `-` when there is none.
    pub fn display_name(&self) -> &str {
        self.cn.as_deref().unwrap_or("-")
    }
}

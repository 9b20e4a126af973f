//! The client's identity, read from the verified leaf certificate: what `[[allow]]` matches on
//! and what the audit log records.
//!
//! Subject attributes are decoded the way Go's crypto/x509 (`parseASN1String` in
//! `crypto/x509/parser.go`) decodes them, so that dockgate reads the same name as the docker CLI
//! and OpenSSL: UTF8String, PrintableString, IA5String and NumericString checked against their
//! alphabets, TeletexString (T.61) as Latin-1, BMPString as UCS-2 (one trailing NUL dropped,
//! surrogates and noncharacters refused). UniversalString (UCS-4), which X.509 allows in a
//! DirectoryString and OpenSSL reads but Go does not, is read as strict UTF-32BE. Whatever cannot
//! be decoded exactly is not read at all: a CN that cannot be decoded matches no `cn` rule, and
//! one undecodable OU makes the certificate match no `ou` rule, rather than a lossy or empty
//! string that could equal another name.

use std::fmt::Write as _;

use x509_parser::asn1_rs::{Any, Class, Tag};
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
        let cns: Vec<Option<String>> = subject
            .iter_common_name()
            .map(|a| directory_string(a.attr_value()))
            .collect();
        // A subject with several CNs is ambiguous, one that cannot be decoded unreadable, an
        // empty one no name: none of them matches a `cn` rule.
        let cn = match cns.as_slice() {
            [Some(one)] if !one.is_empty() => Some(one.clone()),
            _ => None,
        };
        // All the OUs or none: dropping only the unreadable one would keep the others matching.
        let ous = subject
            .iter_organizational_unit()
            .map(|a| directory_string(a.attr_value()))
            .collect::<Option<Vec<String>>>()
            .unwrap_or_default();
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

/// A subject attribute's value as text, or `None` when it is not a string type Go reads (plus
/// UniversalString) or does not decode exactly.
fn directory_string(value: &Any<'_>) -> Option<String> {
    if value.class() != Class::Universal || value.header.is_constructed() {
        return None;
    }
    decode(value.tag(), value.data)
}

/// Go's `isPrintable`: the PrintableString alphabet, plus `*` and `&`, which Go accepts because
/// real certificates carry them.
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+,-./:=? *&".contains(&b)
}

/// Code points Go refuses in a BMPString (and dockgate in a UniversalString): UTF-16 surrogates
/// and the permanent noncharacters U+FFFE, U+FFFF, U+FDD0..U+FDEF.
fn refused_code_point(c: u32) -> bool {
    (0xd800..=0xdfff).contains(&c) || (0xfdd0..=0xfdef).contains(&c) || c == 0xfffe || c == 0xffff
}

/// Decodes the content octets of an ASN.1 string of type `tag`.
fn decode(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String => std::str::from_utf8(data).ok().map(str::to_string),
        Tag::PrintableString if data.iter().all(|b| is_printable(*b)) => ascii(data),
        Tag::Ia5String if data.is_ascii() => ascii(data),
        Tag::NumericString if data.iter().all(|b| b.is_ascii_digit() || *b == b' ') => ascii(data),
        // T.61 is almost Latin-1; like Go and BoringSSL, read it as Latin-1.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let data = data.strip_suffix(&[0, 0]).unwrap_or(data);
            data.chunks_exact(2)
                .map(|p| u32::from(u16::from_be_bytes([p[0], p[1]])))
                .map(|c| {
                    (!refused_code_point(c))
                        .then(|| char::from_u32(c))
                        .flatten()
                })
                .collect()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
                .map(|c| {
                    (!refused_code_point(c))
                        .then(|| char::from_u32(c))
                        .flatten()
                })
                .collect()
        }
        _ => None,
    }
}

fn ascii(data: &[u8]) -> Option<String> {
    std::str::from_utf8(data).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::{decode, ClientIdentity};
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair, SanType};
    use x509_parser::asn1_rs::Tag;

    /// A self-signed certificate made by `openssl req -x509` with the naming arguments `names`
    /// (in `dir`, where they may point to a config file).
    fn openssl_req(dir: &std::path::Path, names: &[&std::ffi::OsStr]) -> Vec<u8> {
        let out = dir.join("c.der");
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
                "-outform",
                "DER",
            ])
            .args(names)
            .arg("-keyout")
            .arg(dir.join("k.pem"))
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

    /// A self-signed certificate with `subject` in openssl's `/CN=a/OU=b` form, which (unlike
    /// rcgen) can repeat attribute types.
    fn openssl_cert(subject: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        openssl_req(
            dir.path(),
            &[
                "-subj".as_ref(),
                subject.as_ref(),
                "-multivalue-rdn".as_ref(),
            ],
        )
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

    /// Go's `TestParseASN1String` cases, plus UniversalString and the NUL terminator.
    #[test]
    fn strings_decode_as_go_reads_them() {
        let cases: &[(Tag, &[u8], Option<&str>)] = &[
            (Tag::TeletexString, &[0xbf, 0x61, 0x3f], Some("\u{bf}a?")),
            (Tag::PrintableString, b"PQR", Some("PQR")),
            (Tag::PrintableString, b"*.example&co", Some("*.example&co")),
            (Tag::PrintableString, b"PQ\x01", None),
            (Tag::PrintableString, b"bob@example", None),
            (
                Tag::Utf8String,
                "ad\u{e9}min".as_bytes(),
                Some("ad\u{e9}min"),
            ),
            (Tag::Utf8String, &[0xff], None),
            (
                Tag::BmpString,
                &[0, b'a', 0, b'd', 0, b'm', 0, b'i', 0, b'n'],
                Some("admin"),
            ),
            (Tag::BmpString, &[0, b'a', 0, 0], Some("a")),
            (Tag::BmpString, &[0, b'a', 0], None),
            (Tag::BmpString, &[0xd8, 0x3d, 0xde, 0x00], None),
            (Tag::BmpString, &[0xff, 0xfe], None),
            (Tag::BmpString, &[0xfd, 0xd0], None),
            (Tag::Ia5String, b"abc", Some("abc")),
            (Tag::Ia5String, &[b'a', 0x80], None),
            (Tag::NumericString, b"12 3", Some("12 3")),
            (Tag::NumericString, b"12a", None),
            (
                Tag::UniversalString,
                &[0, 0, 0, b'a', 0, 1, 0xf6, 0x00],
                Some("a\u{1f600}"),
            ),
            (Tag::UniversalString, &[0, 0, 0xd8, 0x00], None),
            (Tag::UniversalString, &[0, 0x11, 0, 0], None),
            (Tag::UniversalString, &[0, 0, 0], None),
            (Tag::VisibleString, b"abc", None),
            (Tag::Integer, &[1], None),
        ];
        for (tag, data, want) in cases {
            assert_eq!(decode(*tag, data).as_deref(), *want, "{tag:?} {data:02x?}");
        }
    }

    /// OpenSSL writes every name as BMPString with `string_mask = MASK:0x800` (B_ASN1_BMPSTRING);
    /// `openssl x509 -noout -subject` prints `CN = admin` for it, and so does dockgate.
    #[test]
    fn an_openssl_bmpstring_cn_reads_as_openssl_reads_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cnf = dir.path().join("bmp.cnf");
        std::fs::write(
            &cnf,
            "[req]\ndistinguished_name = dn\nstring_mask = MASK:0x800\nprompt = no\n[dn]\nCN = admin\nOU = ops\n",
        )
        .expect("write");
        let der = openssl_req(dir.path(), &["-config".as_ref(), cnf.as_os_str()]);
        let ucs2 = [0x1e, 10, 0, b'a', 0, b'd', 0, b'm', 0, b'i', 0, b'n'];
        assert!(
            der.windows(ucs2.len()).any(|w| w == ucs2),
            "not a BMPString"
        );
        let id = ClientIdentity::from_der(&der).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("admin"));
        assert_eq!(id.ous, vec!["ops"]);
    }

    fn with_cn(cn: DnValue, ou: Option<DnValue>) -> Vec<u8> {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        if let Some(ou) = ou {
            p.distinguished_name
                .push(DnType::OrganizationalUnitName, ou);
        }
        p.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn bmp_teletex_and_universal_string_names_read_like_utf8() {
        let bmp = DnValue::BmpString("admin".try_into().expect("bmp"));
        let ou = DnValue::TeletexString("ops".try_into().expect("t61"));
        let id = ClientIdentity::from_der(&with_cn(bmp, Some(ou))).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("admin"));
        assert_eq!(id.ous, vec!["ops"]);
        let universal = DnValue::UniversalString("admin".try_into().expect("ucs4"));
        let id = ClientIdentity::from_der(&with_cn(universal, None)).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("admin"));
    }

    #[test]
    fn an_undecodable_cn_or_ou_is_not_read() {
        // A PrintableString CN holding `@`, which Go refuses: no CN, not "".
        let bad = DnValue::PrintableString("admin".try_into().expect("printable"));
        let der = with_cn(bad, Some(DnValue::Utf8String("ops".into())));
        // Patch the subject CN's content octets (the last copy: the issuer comes first) to carry
        // a byte outside the alphabet.
        let at = der
            .windows(7)
            .rposition(|w| w == [0x13, 5, b'a', b'd', b'm', b'i', b'n'])
            .expect("CN in the DER");
        let mut patched = der.clone();
        patched[at + 2] = b'@';
        let id = ClientIdentity::from_der(&patched).expect("parse");
        assert_eq!(id.cn, None);
        assert_eq!(id.ous, vec!["ops"]);

        // One undecodable OU among two: no OU is read.
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "alice");
        p.distinguished_name.push(
            DnType::OrganizationalUnitName,
            DnValue::PrintableString("ops".try_into().expect("printable")),
        );
        p.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 11]),
            DnValue::PrintableString("dev".try_into().expect("printable")),
        );
        let key = KeyPair::generate().expect("key");
        let der = p.self_signed(&key).expect("cert").der().to_vec();
        let at = der
            .windows(5)
            .rposition(|w| w == [0x13, 3, b'd', b'e', b'v'])
            .expect("OU in the DER");
        let mut patched = der.clone();
        patched[at + 2] = 0x01;
        let id = ClientIdentity::from_der(&patched).expect("parse");
        assert_eq!(id.cn.as_deref(), Some("alice"));
        assert!(id.ous.is_empty(), "{:?}", id.ous);
    }
}

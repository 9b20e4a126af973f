//! The CA's bookkeeping: `CA_DIR/dockgate-ca.toml`, every certificate this CA issued and every
//! revocation, plus the number of the last CRL. It is small TOML (documented in certs/README.md),
//! rewritten whole and atomically (temporary file, fsync, rename) so a crash never loses it.
//!
//! The CRL is built from this file, so it is checked whole when it is read: a serial that is not
//! a positive hexadecimal number of at most 20 octets (RFC 5280 section 4.1.2.2) or a date that is
//! not RFC 3339 is an error naming the file and the entry, never skipped (a skipped serial would
//! give a CRL that does not revoke it) and never a panic.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::files::{self, FileError};

pub const FILE: &str = "dockgate-ca.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Ca,
    Server,
    Client,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ca => "ca",
            Kind::Server => "server",
            Kind::Client => "client",
        }
    }
}

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issued {
    /// Lower-case hex of the serial number's bytes.
    pub serial: String,
    pub kind: Kind,
    /// The subject's CN (the client name for clients).
    pub name: String,
    /// The whole subject, as in `O=dockgate, CN=bob, OU=ops`.
    #[serde(default)]
    pub subject: String,
    pub key_type: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
    /// Where the certificate was written, relative to the CA folder.
    pub file: String,
    /// When it was revoked (RFC 3339), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Book {
    pub version: u32,
    /// The number of the last CRL written (CRL numbers only grow).
    pub crl_number: u64,
    #[serde(default)]
    pub issued: Vec<Issued>,
}

/// What is wrong with one `[[issued]]` entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryProblem {
    #[error("the serial `{0}` is not a hexadecimal number")]
    SerialNotHex(String),
    #[error("the serial is empty")]
    SerialEmpty,
    #[error("the serial is zero; serials are positive")]
    SerialZero,
    #[error("the serial is {0} octets long; at most 20 are allowed")]
    SerialTooLong(usize),
    #[error("`{field}` = `{value}` is not an RFC 3339 date")]
    Date {
        field: &'static str,
        value: String,
        #[source]
        source: time::error::Parse,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is damaged", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{}: version {version} is not one this dockgate reads (1)", path.display())]
    Version { path: PathBuf, version: u32 },
    #[error("{}: [[issued]] entry {number} (name `{name}`, serial `{serial}`)", path.display())]
    Entry {
        path: PathBuf,
        /// 1 for the first entry.
        number: usize,
        name: String,
        serial: String,
        #[source]
        problem: Box<EntryProblem>,
    },
    #[error("cannot encode the CA bookkeeping")]
    Encode(#[source] toml::ser::Error),
    #[error(transparent)]
    Write(#[from] FileError),
}

impl Default for Book {
    fn default() -> Self {
        Book {
            version: 1,
            crl_number: 0,
            issued: Vec::new(),
        }
    }
}

/// Normalises a serial for comparison: lower-case hex, no `0x`, colons or leading zeros.
pub fn normalise_serial(s: &str) -> String {
    let hex: String = s
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The bytes of a serial as this file writes it (lower-case hex; `0x`, colons and upper case are
/// accepted too), leading zero octets removed, as a CRL entry must carry it.
pub fn serial_bytes(serial: &str) -> Result<Vec<u8>, EntryProblem> {
    let digits = normalise_serial(serial);
    if serial
        .trim()
        .trim_start_matches("0x")
        .replace(':', "")
        .is_empty()
    {
        return Err(EntryProblem::SerialEmpty);
    }
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(EntryProblem::SerialNotHex(serial.to_string()));
    }
    if digits == "0" {
        return Err(EntryProblem::SerialZero);
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes = padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| EntryProblem::SerialNotHex(serial.to_string()))
        })
        .collect::<Result<Vec<u8>, _>>()?;
    if bytes.len() > 20 {
        return Err(EntryProblem::SerialTooLong(bytes.len()));
    }
    Ok(bytes)
}

fn date(field: &'static str, value: &str) -> Result<OffsetDateTime, EntryProblem> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|source| EntryProblem::Date {
        field,
        value: value.to_string(),
        source,
    })
}

impl Issued {
    /// Every field the CRL and `certs list` rely on, checked.
    fn check(&self) -> Result<(), EntryProblem> {
        serial_bytes(&self.serial)?;
        date("not_before", &self.not_before)?;
        date("not_after", &self.not_after)?;
        if let Some(at) = &self.revoked {
            date("revoked", at)?;
        }
        Ok(())
    }
}

impl Book {
    /// The bookkeeping of the CA in `dir`; an empty one when the file does not exist yet.
    pub fn load(dir: &Path) -> Result<Book, BookError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Book::default()),
            Err(source) => return Err(BookError::Read { path, source }),
        };
        Book::parse(&text, path)
    }

    /// Parses and checks the text of the file at `path`.
    fn parse(text: &str, path: PathBuf) -> Result<Book, BookError> {
        let book: Book = match toml::from_str(text) {
            Ok(b) => b,
            Err(source) => return Err(BookError::Parse { path, source }),
        };
        if book.version != 1 {
            return Err(BookError::Version {
                path,
                version: book.version,
            });
        }
        for (i, entry) in book.issued.iter().enumerate() {
            if let Err(problem) = entry.check() {
                return Err(BookError::Entry {
                    path,
                    number: i + 1,
                    name: entry.name.clone(),
                    serial: entry.serial.clone(),
                    problem: Box::new(problem),
                });
            }
        }
        Ok(book)
    }

    /// Every revoked certificate, as the CRL lists it: serial bytes and revocation time. `dir`
    /// names the file in errors.
    pub fn revoked(&self, dir: &Path) -> Result<Vec<(Vec<u8>, OffsetDateTime)>, BookError> {
        let mut out = Vec::new();
        for (i, entry) in self.issued.iter().enumerate() {
            let Some(at) = &entry.revoked else { continue };
            let checked =
                serial_bytes(&entry.serial).and_then(|serial| Ok((serial, date("revoked", at)?)));
            match checked {
                Ok(one) => out.push(one),
                Err(problem) => {
                    return Err(BookError::Entry {
                        path: dir.join(FILE),
                        number: i + 1,
                        name: entry.name.clone(),
                        serial: entry.serial.clone(),
                        problem: Box::new(problem),
                    })
                }
            }
        }
        Ok(out)
    }

    pub fn save(&self, dir: &Path) -> Result<(), BookError> {
        let body = toml::to_string(self).map_err(BookError::Encode)?;
        let text = format!(
            "# dockgate CA bookkeeping, written by `dockgate certs`: every certificate this CA\n\
             # issued (serial, kind, name, validity, file) and when it was revoked.\n{body}"
        );
        files::write(&dir.join(FILE), text.as_bytes(), 0o600, true)?;
        Ok(())
    }

    pub fn record(&mut self, issued: Issued) {
        self.issued.push(issued);
    }

    pub fn find_serial(&self, serial: &str) -> Option<usize> {
        let want = normalise_serial(serial);
        self.issued
            .iter()
            .position(|i| normalise_serial(&i.serial) == want)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{serial_bytes, Book, BookError, EntryProblem};

    fn book(serial: &str, revoked: &str) -> String {
        format!(
            "version = 1\ncrl_number = 2\n\n[[issued]]\nserial = \"5d1f\"\nkind = \"client\"\nname = \"alice\"\n\
             key_type = \"ecdsa-p256\"\nnot_before = \"2026-01-01T00:00:00Z\"\n\
             not_after = \"2027-01-01T00:00:00Z\"\nfile = \"clients/alice/cert.pem\"\n\n\
             [[issued]]\nserial = {serial:?}\nkind = \"client\"\nname = \"bob\"\n\
             key_type = \"ecdsa-p256\"\nnot_before = \"2026-01-01T00:00:00Z\"\n\
             not_after = \"2027-01-01T00:00:00Z\"\nfile = \"clients/bob/cert.pem\"\n\
             revoked = {revoked:?}\n"
        )
    }

    fn parse(text: &str) -> Result<Book, BookError> {
        Book::parse(text, PathBuf::from("/ca/dockgate-ca.toml"))
    }

    #[test]
    fn good_entries_give_the_crl_serials() {
        let b = parse(&book("0a:BC", "2026-06-01T00:00:00Z")).expect("parse");
        let revoked = b.revoked(std::path::Path::new("/ca")).expect("revoked");
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].0, vec![0x0a, 0xbc]);
        assert_eq!(serial_bytes("00ff").expect("serial"), vec![0xff]);
        assert_eq!(serial_bytes("0x1").expect("serial"), vec![0x01]);
    }

    /// Before, `é1` panicked (slicing inside a character), `zz` and `5g` gave a CRL without
    /// bob, and a bad date was an error that named neither the file nor the entry.
    #[test]
    fn bad_serials_and_dates_are_errors_naming_the_file_and_the_entry() {
        let long = "ab".repeat(21);
        for (serial, revoked, want) in [
            ("é1", "2026-06-01T00:00:00Z", "not a hexadecimal number"),
            ("zz", "2026-06-01T00:00:00Z", "not a hexadecimal number"),
            ("5g", "2026-06-01T00:00:00Z", "not a hexadecimal number"),
            ("", "2026-06-01T00:00:00Z", "empty"),
            ("00", "2026-06-01T00:00:00Z", "zero"),
            (long.as_str(), "2026-06-01T00:00:00Z", "21 octets"),
            ("5d20", "yesterday", "RFC 3339"),
        ] {
            let err = parse(&book(serial, revoked)).expect_err(serial);
            let BookError::Entry {
                number,
                ref name,
                ref problem,
                ..
            } = err
            else {
                panic!("{serial}: {err:?}");
            };
            assert_eq!((number, name.as_str()), (2, "bob"));
            let text = format!("{err}: {problem}");
            assert!(
                text.contains("/ca/dockgate-ca.toml")
                    && text.contains("entry 2")
                    && text.contains(want),
                "{serial}: {text}"
            );
            if serial == "5d20" {
                assert!(matches!(
                    **problem,
                    EntryProblem::Date {
                        field: "revoked",
                        ..
                    }
                ));
            }
        }
    }

    #[test]
    fn an_unknown_version_is_an_error() {
        let text = book("5d20", "2026-06-01T00:00:00Z").replace("version = 1", "version = 7");
        assert!(matches!(
            parse(&text),
            Err(BookError::Version { version: 7, .. })
        ));
    }
}

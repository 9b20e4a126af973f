//! The CA's bookkeeping: `CA_DIR/dockgate-ca.toml`, every certificate this CA issued and every
//! revocation, plus the number of the last CRL. It is small TOML (documented in certs/README.md),
//! rewritten whole and atomically (temporary file, fsync, rename) so a crash never loses it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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

impl Book {
    /// The bookkeeping of the CA in `dir`; an empty one when the file does not exist yet.
    pub fn load(dir: &Path) -> Result<Book, BookError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Book::default()),
            Err(source) => return Err(BookError::Read { path, source }),
        };
        toml::from_str(&text).map_err(|source| BookError::Parse { path, source })
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

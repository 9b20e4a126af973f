//! Reading PEM certificates and keys from disk, with errors that name the file.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid PEM")]
    Malformed {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no {what}")]
    Empty { path: PathBuf, what: &'static str },
}

pub(super) fn error(path: &Path, source: rustls_pki_types::pem::Error) -> PemError {
    match source {
        rustls_pki_types::pem::Error::Io(source) => PemError::Read {
            path: path.to_path_buf(),
            source,
        },
        rustls_pki_types::pem::Error::NoItemsFound => PemError::Empty {
            path: path.to_path_buf(),
            what: "PEM item",
        },
        source => PemError::Malformed {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Every certificate in a PEM file, in order; at least one.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(path, e))?;
    if certs.is_empty() {
        return Err(PemError::Empty {
            path: path.to_path_buf(),
            what: "CERTIFICATE block",
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match error(path, e) {
        PemError::Empty { path, .. } => PemError::Empty {
            path,
            what: "PRIVATE KEY block",
        },
        other => other,
    })
}

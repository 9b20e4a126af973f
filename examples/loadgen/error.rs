//! Why one connection or request failed (counted, never fatal on its own), and why the load
//! generator could not start at all (fatal).

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A failed connection or request. The run counts these; only a run in which every request
/// fails ends with an error.
#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot connect")]
    Connect(#[source] io::Error),
    #[error("TLS handshake failed")]
    Handshake(#[source] io::Error),
    #[error("cannot write the request")]
    Write(#[source] io::Error),
    #[error("cannot read the response")]
    Read(#[source] io::Error),
    #[error("the connection closed before the response was complete")]
    Eof,
    #[error("malformed response: {0}")]
    Protocol(&'static str),
    #[error("the response has status {0}")]
    Status(u16),
    #[error("the response body has {got} bytes, expected {expected}")]
    Length { got: u64, expected: u64 },
    #[error("timed out")]
    Timeout,
}

/// Why a run cannot start (the command line, the client bundle) or measured nothing.
#[derive(Debug, Error)]
pub enum Fatal {
    #[error("target {0:?} is neither tls://HOST:PORT nor unix:PATH")]
    Target(String),
    #[error("cannot resolve {0:?}")]
    Resolve(String, #[source] io::Error),
    #[error("a tls:// target needs --cert-dir (a directory with ca.pem, cert.pem and key.pem)")]
    NoCertDir,
    #[error("cannot read {path}")]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCert(PathBuf),
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    #[error("cannot build the TLS client configuration")]
    Tls(#[source] rustls::Error),
    #[error("cannot install the signal handlers")]
    Signal(#[source] io::Error),
    #[error("cannot build the server certificate verifier")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
    #[error("cannot start the runtime")]
    Runtime(#[source] io::Error),
    #[error("cannot write the ready file {0}")]
    ReadyFile(PathBuf, #[source] io::Error),
    #[error("every request failed ({errors} failures); the first")]
    AllFailed {
        errors: u64,
        #[source]
        first: Error,
    },
    #[error("no request was made (is the duration too short?)")]
    NothingDone,
}

/// `err` and its causes on one line, `outer: inner: innermost`.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

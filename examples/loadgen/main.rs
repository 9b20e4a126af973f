//! Load generator for the dockgate benchmark (issue 10): keep-alive requests, full mutual-TLS
//! handshakes, bulk download and upload, and idle connections held open, each printed as one
//! JSON object on stdout (notes go to stderr).
//!
//! It runs on one thread (a `current_thread` runtime) so `taskset -c 1` pins all of it to one
//! CPU, away from the server under test. Requests are pre-built bytes and responses are parsed
//! by hand (`http.rs`): at tens of thousands of requests a second the generator must cost less
//! than what it measures. TLS is rustls (ring) with TLS 1.3 only, one key exchange group and no
//! session resumption, so every new connection is a full mutual-TLS handshake.
//!
//! ```text
//! loadgen keepalive --target tls://127.0.0.1:2376 --cert-dir DIR --conns 32 --duration 5 --warmup 1
//! loadgen handshake --target tls://127.0.0.1:2376 --cert-dir DIR --concurrency 16 --duration 5
//! loadgen download  --target unix:/run/x.sock --path /big --expect-bytes 1G
//! loadgen upload    --target tls://127.0.0.1:2376 --cert-dir DIR --path /upload --bytes 1G
//! loadgen idle      --target tls://127.0.0.1:2376 --cert-dir DIR --conns 10000 --hold 600 --ready-file F
//! ```
//!
//! Failed requests are counted (`errors`); the exit status is 1 only when nothing succeeded.

mod cli;
mod conn;
mod error;
mod handshake;
mod http;
mod idle;
mod keepalive;
mod nofile;
mod tally;
mod target;
mod transfer;
mod verify;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::cli::{Cli, Mode};
use crate::error::{chain, Fatal};
use crate::tally::Tally;
use crate::target::Target;

/// A finished run: its JSON, and whether it counts as failed (nothing succeeded).
pub struct Outcome {
    json: serde_json::Value,
    failure: Option<Fatal>,
}

impl Outcome {
    pub fn new(json: serde_json::Value, tally: Tally) -> Self {
        let failure = if tally.successes() > 0 {
            None
        } else if let Some(first) = tally.first_error {
            Some(Fatal::AllFailed {
                errors: tally.errors,
                first,
            })
        } else {
            Some(Fatal::NothingDone)
        };
        Outcome { json, failure }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.mode) {
        Ok(outcome) => {
            println!("{}", outcome.json);
            match outcome.failure {
                None => ExitCode::SUCCESS,
                Some(failure) => {
                    eprintln!("loadgen: {}", chain(&failure));
                    ExitCode::FAILURE
                }
            }
        }
        Err(fatal) => {
            eprintln!("loadgen: {}", chain(&fatal));
            ExitCode::FAILURE
        }
    }
}

fn run(mode: Mode) -> Result<Outcome, Fatal> {
    let nofile = nofile::raise();
    let args = match &mode {
        Mode::Keepalive(a) => &a.target,
        Mode::Handshake(a) => &a.target,
        Mode::Download(a) => &a.target,
        Mode::Upload(a) => &a.target,
        Mode::Idle(a) => &a.target,
    };
    let target = Arc::new(Target::new(args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Fatal::Runtime)?;
    runtime.block_on(async {
        match &mode {
            Mode::Keepalive(a) => keepalive::run(target, a).await,
            Mode::Handshake(a) => handshake::run(target, a).await,
            Mode::Download(a) => transfer::download(target, a).await,
            Mode::Upload(a) => transfer::upload(target, a).await,
            Mode::Idle(a) => idle::run(target, a, nofile).await,
        }
    })
}

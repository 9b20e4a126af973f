//! Bulk transfer on one connection: a download read as fast as possible, or an upload streamed
//! from one reused buffer of zeros; the clock starts when the request is written (after the
//! handshake) and stops when the whole response is in.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};

use crate::cli;
use crate::error::{Error, Fatal};
use crate::http::{self, Reader, Response};
use crate::tally::{round, Tally};
use crate::target::Target;
use crate::Outcome;

/// Read and write unit: large, so system calls are few per byte.
const CHUNK: usize = 256 * 1024;
/// After a failed write, how long to wait for the response that explains it.
const EXPLAIN_WAIT: Duration = Duration::from_secs(2);

pub async fn download(target: Arc<Target>, args: &cli::Download) -> Result<Outcome, Fatal> {
    let work = async {
        let mut conn = target.connect().await?;
        let request = http::request("GET", &args.path, &[]);
        let mut reader = Reader::new(CHUNK);
        let began = Instant::now();
        let response = http::exchange(&mut conn, &request, &mut reader).await?;
        Ok::<_, Error>((response, began.elapsed()))
    };
    let result = timeout(args.timeout, work)
        .await
        .unwrap_or(Err(Error::Timeout));
    let mut tally = Tally::default();
    let (bytes, seconds, status) = match result {
        Ok((response, elapsed)) => {
            if !response.ok() {
                tally.error(Error::Status(response.status));
            } else if args.expect_bytes.is_some_and(|b| b != response.body) {
                tally.error(Error::Length {
                    got: response.body,
                    expected: args.expect_bytes.unwrap_or_default(),
                });
            } else {
                tally.success(elapsed);
            }
            (response.body, elapsed.as_secs_f64(), Some(response.status))
        }
        Err(e) => {
            tally.error(e);
            (0, 0.0, None)
        }
    };
    eprintln!("download: {bytes} bytes in {seconds:.3} s");
    Ok(outcome("download", bytes, seconds, status, tally))
}

pub async fn upload(target: Arc<Target>, args: &cli::Upload) -> Result<Outcome, Fatal> {
    let result = timeout(args.timeout, send_body(&target, &args.path, args.bytes))
        .await
        .unwrap_or(Err(Error::Timeout));
    let mut tally = Tally::default();
    let (seconds, status) = match result {
        Ok((response, elapsed)) => {
            if response.ok() {
                tally.success(elapsed);
            } else {
                tally.error(Error::Status(response.status));
            }
            (elapsed.as_secs_f64(), Some(response.status))
        }
        Err(e) => {
            tally.error(e);
            (0.0, None)
        }
    };
    let bytes = if tally.successes() > 0 { args.bytes } else { 0 };
    eprintln!("upload: {bytes} bytes in {seconds:.3} s, status {status:?}");
    Ok(outcome("upload", bytes, seconds, status, tally))
}

/// The JSON line of a transfer, the same for both directions.
fn outcome(mode: &str, bytes: u64, seconds: f64, status: Option<u16>, tally: Tally) -> Outcome {
    let json = json!({
        "mode": mode,
        "bytes": bytes,
        "seconds": round(seconds, 4),
        "mb_per_s": rate(bytes, seconds),
        "status": status,
        "errors": tally.errors,
    });
    Outcome::new(json, tally)
}

/// Writes the request and reads the response at the same time, so that an early refusal
/// (403, 413) is seen as such rather than as a broken pipe; an early success (a server that
/// answers before it has read the whole body) still waits for the body to be sent.
async fn send_body(target: &Target, path: &str, bytes: u64) -> Result<(Response, Duration), Error> {
    let conn = target.connect().await?;
    let length = bytes.to_string();
    let head = http::request(
        "POST",
        path,
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", &length),
        ],
    );
    let began = Instant::now();
    let (mut rd, mut wr) = tokio::io::split(conn);
    let send = async {
        wr.write_all(&head).await?;
        let chunk = vec![0u8; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
            wr.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        wr.flush().await
    };
    let mut reader = Reader::new(64 * 1024);
    let recv = reader.response(&mut rd);
    tokio::pin!(send, recv);
    let mut sent = None;
    let mut received = None;
    while sent.is_none() || received.is_none() {
        tokio::select! {
            r = &mut send, if sent.is_none() => {
                if let Err(e) = r {
                    // The server may have said why before it stopped reading.
                    if received.is_none() {
                        if let Ok(Ok(response)) = timeout(EXPLAIN_WAIT, &mut recv).await {
                            if !response.ok() {
                                return Ok((response, began.elapsed()));
                            }
                        }
                    }
                    return Err(Error::Write(e));
                }
                sent = Some(());
            }
            r = &mut recv, if received.is_none() => {
                let response = r?;
                if !response.ok() {
                    return Ok((response, began.elapsed()));
                }
                received = Some(response);
            }
        }
    }
    let response = received.ok_or(Error::Eof)?;
    Ok((response, began.elapsed()))
}

/// MB/s with MB = 10^6 bytes.
fn rate(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round(bytes as f64 / 1e6 / seconds, 1)
    } else {
        0.0
    }
}

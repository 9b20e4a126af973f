//! New-connection load: each worker connects, does a full mutual-TLS handshake (no resumption),
//! sends one request with `Connection: close`, reads the response, waits for the server to close
//! (so the TIME_WAIT lands on the server, not on the client's ephemeral ports), and starts over.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::cli;
use crate::error::{Error, Fatal};
use crate::http::{self, Reader, Response};
use crate::tally::{gather, round, Tally};
use crate::target::Target;
use crate::Outcome;

const GRACE: Duration = Duration::from_secs(5);
const RETRY: Duration = Duration::from_millis(10);
/// How long to wait for the server's close after a `Connection: close` response.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

pub async fn run(target: Arc<Target>, args: &cli::Handshake) -> Result<Outcome, Fatal> {
    if !target.is_tls() {
        eprintln!("handshake: the target is not TLS; measuring plain connections");
    }
    let request: Arc<[u8]> = http::request("GET", &args.path, &[("Connection", "close")]).into();
    let from = Instant::now() + args.warmup;
    let end = from + args.duration;
    let tally = gather(args.concurrency, || {
        worker(target.clone(), request.clone(), from, end)
    })
    .await;
    let seconds = args.duration.as_secs_f64();
    let connections = tally.successes();
    eprintln!(
        "handshake: {} workers, {connections} connections and {} errors in {seconds} s",
        args.concurrency, tally.errors
    );
    let json = json!({
        "mode": "handshake",
        "concurrency": args.concurrency,
        "connections": connections,
        "errors": tally.errors,
        "seconds": seconds,
        "rps": round(connections as f64 / seconds, 1),
        "p50_ms": tally.percentile_ms(0.50),
        "p90_ms": tally.percentile_ms(0.90),
        "p99_ms": tally.percentile_ms(0.99),
        "max_ms": tally.percentile_ms(1.0),
    });
    Ok(Outcome::new(json, tally))
}

async fn worker(target: Arc<Target>, request: Arc<[u8]>, from: Instant, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut reader = Reader::new(16 * 1024);
    let hard_stop = sleep_until(end + GRACE);
    tokio::pin!(hard_stop);
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let result = tokio::select! {
            r = one(&target, &request, &mut reader) => r,
            _ = &mut hard_stop => {
                tally.error(Error::Timeout);
                break;
            }
        };
        let counted = |at: Instant| at >= from && at <= end;
        match result {
            Ok((response, done)) if response.ok() => {
                if counted(done) {
                    tally.success(done - began);
                }
            }
            Ok((response, done)) => {
                if counted(done) {
                    tally.error(Error::Status(response.status));
                }
            }
            Err(e) => {
                let refused = matches!(e, Error::Connect(_));
                if counted(Instant::now()) {
                    tally.error(e);
                }
                if refused {
                    sleep(RETRY).await;
                }
            }
        }
    }
    tally
}

/// One connection: the response and when it was complete (closing is not part of the latency).
async fn one(
    target: &Target,
    request: &[u8],
    reader: &mut Reader,
) -> Result<(Response, Instant), Error> {
    let mut conn = target.connect().await?;
    reader.clear();
    let response = http::exchange(&mut conn, request, reader).await?;
    let done = Instant::now();
    if response.close {
        // Errors here do not matter any more: the response is in.
        let _ = timeout(CLOSE_WAIT, reader.until_close(&mut conn)).await;
    }
    let _ = conn.shutdown().await;
    Ok((response, done))
}

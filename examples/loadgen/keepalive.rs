//! Keep-alive load: N connections, each with exactly one request in flight (no pipelining),
//! counting the requests that complete inside the measured window after the warm-up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::{sleep, sleep_until, Instant};

use crate::cli;
use crate::error::{Error, Fatal};
use crate::http::{self, Reader};
use crate::tally::{gather, round, Tally};
use crate::target::Target;
use crate::Outcome;

/// How long past the end a request may take before it is abandoned as hung.
const GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed connect or a connection refused on its first request, so a refusing
/// target does not turn the run into a busy loop.
const RETRY: Duration = Duration::from_millis(10);

pub async fn run(target: Arc<Target>, args: &cli::Keepalive) -> Result<Outcome, Fatal> {
    let request: Arc<[u8]> = http::request("GET", &args.path, &[]).into();
    let from = Instant::now() + args.warmup;
    let end = from + args.duration;
    let tally = gather(args.conns, || {
        worker(target.clone(), request.clone(), from, end)
    })
    .await;
    let seconds = args.duration.as_secs_f64();
    let requests = tally.successes();
    eprintln!(
        "keepalive: {} conns, {requests} requests and {} errors in {seconds} s",
        args.conns, tally.errors
    );
    let json = json!({
        "mode": "keepalive",
        "conns": args.conns,
        "requests": requests,
        "errors": tally.errors,
        "seconds": seconds,
        "rps": round(requests as f64 / seconds, 1),
        "p50_ms": tally.percentile_ms(0.50),
        "p90_ms": tally.percentile_ms(0.90),
        "p99_ms": tally.percentile_ms(0.99),
        "p999_ms": tally.percentile_ms(0.999),
        "max_ms": tally.percentile_ms(1.0),
    });
    Ok(Outcome::new(json, tally))
}

/// One connection's loop; reconnects after a failure or a server-side close.
async fn worker(target: Arc<Target>, request: Arc<[u8]>, from: Instant, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut reader = Reader::new(16 * 1024);
    let hard_stop = sleep_until(end + GRACE);
    tokio::pin!(hard_stop);
    'connect: while Instant::now() < end {
        let connected = tokio::select! {
            c = target.connect() => c,
            _ = &mut hard_stop => break,
        };
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(e) => {
                if Instant::now() >= from {
                    tally.error(e);
                }
                sleep(RETRY).await;
                continue;
            }
        };
        reader.clear();
        let mut fresh = true;
        loop {
            let sent = Instant::now();
            if sent >= end {
                break 'connect;
            }
            let result = tokio::select! {
                r = http::exchange(&mut conn, &request, &mut reader) => r,
                _ = &mut hard_stop => {
                    tally.error(Error::Timeout);
                    break 'connect;
                }
            };
            let done = Instant::now();
            let counted = done >= from && done <= end;
            match result {
                Ok(response) => {
                    if counted {
                        if response.ok() {
                            tally.success(done - sent);
                        } else {
                            tally.error(Error::Status(response.status));
                        }
                    }
                    if response.close {
                        continue 'connect;
                    }
                    fresh = false;
                }
                Err(e) => {
                    if counted {
                        tally.error(e);
                    }
                    if fresh {
                        // Refused at once (a TLS alert after the handshake, a 5xx and close):
                        // do not turn the run into a reconnect loop.
                        sleep(RETRY).await;
                    }
                    continue 'connect;
                }
            }
        }
    }
    tally
}

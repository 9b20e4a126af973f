//! Idle capacity: open N mutual-TLS connections (bounded handshakes in flight, optionally a
//! bounded rate), prove each one with a keep-alive `GET`, then hold them all open and silent —
//! what a dashboard with thousands of `docker events` streams does to a gateway. The caller
//! measures the gateway's memory while `ready N` stands.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::cli;
use crate::conn::Conn;
use crate::error::{Error, Fatal};
use crate::http::{self, Reader};
use crate::nofile::{Nofile, RESERVED};
use crate::tally::{round, Tally};
use crate::target::Target;
use crate::Outcome;

/// How long one connection may take to open and answer.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(target: Arc<Target>, args: &cli::Idle, nofile: Nofile) -> Result<Outcome, Fatal> {
    let mut term = signal(SignalKind::terminate()).map_err(Fatal::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Fatal::Signal)?;
    let need = args.conns as u64 + RESERVED;
    if need > nofile.soft {
        eprintln!(
            "idle: {} connections need about {need} open files, but the limit is {} \
             (hard limit {}): at most about {} can open",
            args.conns,
            nofile.soft,
            nofile.hard,
            nofile.soft.saturating_sub(RESERVED)
        );
    }
    if !target.is_tls() {
        eprintln!("idle: the target is not TLS; holding plain connections");
    }

    let request: Arc<[u8]> = http::request("GET", &args.path, &[]).into();
    let permits = Arc::new(Semaphore::new(args.parallel.max(1)));
    let gap = args
        .rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let began = Instant::now();
    let mut opening = JoinSet::new();
    for i in 0..args.conns {
        if let Some(gap) = gap {
            sleep_until(began + gap.mul_f64(i as f64)).await;
        }
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        opening.spawn(open(target.clone(), request.clone(), permit));
    }
    let mut held = Vec::with_capacity(args.conns);
    let mut tally = Tally::default();
    while let Some(done) = opening.join_next().await {
        match done.expect("an opening task panicked") {
            Ok((conn, elapsed)) => {
                held.push(conn);
                tally.success(elapsed);
            }
            Err(e) => tally.error(e),
        }
    }
    let open_seconds = began.elapsed().as_secs_f64();
    let opened = held.len();
    if let Some(first) = &tally.first_error {
        eprintln!(
            "idle: {} connections failed; the first: {}",
            tally.errors,
            crate::error::chain(first)
        );
    }
    let line = format!("ready {opened}\n");
    if let Some(path) = &args.ready_file {
        write_ready(path, &line)?;
    }
    eprint!("{line}");

    let holding = Instant::now();
    if opened > 0 {
        tokio::select! {
            _ = sleep(args.hold) => {}
            _ = term.recv() => eprintln!("idle: SIGTERM"),
            _ = interrupt.recv() => eprintln!("idle: SIGINT"),
        }
    }
    let held_seconds = holding.elapsed().as_secs_f64();
    let alive = tokio::task::unconstrained(still_open(&mut held)).await;
    drop(held);

    tally.sort();
    let json = json!({
        "mode": "idle",
        "conns": args.conns,
        "opened": opened,
        "failed": tally.errors,
        "open_seconds": round(open_seconds, 3),
        "held_seconds": round(held_seconds, 3),
        "alive_at_end": alive,
        "open_p50_ms": tally.percentile_ms(0.50),
        "open_p99_ms": tally.percentile_ms(0.99),
    });
    Ok(Outcome::new(json, tally))
}

/// Connects (full handshake), proves the connection with one keep-alive request, and hands it
/// back open; the permit bounds how many do this at once.
async fn open(
    target: Arc<Target>,
    request: Arc<[u8]>,
    permit: OwnedSemaphorePermit,
) -> Result<(Conn, Duration), Error> {
    let began = Instant::now();
    let work = async {
        let mut conn = target.connect().await?;
        let mut reader = Reader::new(0);
        let response = http::exchange(&mut conn, &request, &mut reader).await?;
        if !response.ok() {
            return Err(Error::Status(response.status));
        }
        if response.close {
            return Err(Error::Protocol("the server closes the connection"));
        }
        Ok(conn)
    };
    let result = timeout(OPEN_TIMEOUT, work)
        .await
        .unwrap_or(Err(Error::Timeout));
    drop(permit);
    result.map(|conn| (conn, began.elapsed()))
}

/// How many connections the server has not closed: one read attempt each, and one that would
/// block means open. Run unconstrained, or tokio's cooperative budget would make reads pend and
/// overcount.
async fn still_open(held: &mut [Conn]) -> usize {
    let mut buf = [0u8; 512];
    let mut alive = 0;
    for conn in held.iter_mut() {
        let open = std::future::poll_fn(|cx| {
            let mut rb = ReadBuf::new(&mut buf);
            Poll::Ready(match Pin::new(&mut *conn).poll_read(cx, &mut rb) {
                Poll::Pending => true,
                Poll::Ready(Ok(())) => !rb.filled().is_empty(),
                Poll::Ready(Err(_)) => false,
            })
        })
        .await;
        alive += usize::from(open);
    }
    alive
}

/// Writes the ready line whole (write, then rename) so a poller never reads half of it.
fn write_ready(path: &Path, line: &str) -> Result<(), Fatal> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, line)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Fatal::ReadyFile(path.to_owned(), e))
}

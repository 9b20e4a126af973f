//! Hijacked connections: after the engine's `101`, bytes are spliced both ways until the engine
//! is done.
//!
//! Half-close, as the docker CLI needs it (see moby's `hijack.go`):
//! - the client ends its input with `close_notify` (read returns 0) or, for older clients, with a
//!   bare TCP FIN (rustls reports `UnexpectedEof`): both mean "stdin is done", so the write side
//!   towards the engine is shut down and the engine's output keeps flowing back;
//! - when the engine ends its output (the process exited), the client's side is ended at once
//!   with `close_notify`, even while the client's input is still open, because
//!   `docker run -it` and `exec -it` wait for exactly that to exit;
//! - input the engine no longer takes (it closed after the process exited) ends the input side
//!   only: the output it wrote before closing still reaches the client.
//!
//! There is no idle timeout: an `exec -it` prompt may sit quiet for hours. TCP keep-alive on the
//! client socket finds dead peers.

use std::io;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::audit::AuditRecord;

const BUF: usize = 16 * 1024;

/// How the client's input ended.
enum InputEnd {
    /// EOF, with or without `close_notify`: the engine sees its stdin close.
    HalfClosed,
    /// The connection failed: nobody is left to read the engine's output.
    Failed,
}

/// Waits for both sides to finish upgrading, then splices them. Writes the audit record when done.
pub async fn splice(client: OnUpgrade, engine: OnUpgrade, record: AuditRecord) {
    let (client, engine) = match tokio::try_join!(client, engine) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::info!(error = %e, "upgrade did not complete");
            return;
        }
    };
    let (mut client_r, mut client_w) = tokio::io::split(TokioIo::new(client));
    let (mut engine_r, mut engine_w) = tokio::io::split(TokioIo::new(engine));
    let counters = record.counters.clone();

    let to_engine = async {
        let end = match copy(&mut client_r, &mut engine_w, |n| counters.add_in(n)).await {
            Ok(()) => InputEnd::HalfClosed,
            Err(Side::Read(e)) if e.kind() == io::ErrorKind::UnexpectedEof => InputEnd::HalfClosed,
            Err(Side::Read(e)) => {
                tracing::debug!(error = %e, "client side of a hijacked stream failed");
                InputEnd::Failed
            }
            // The engine stopped reading (the process exited): what it wrote before is still on
            // its way back, so the client's output must not be cut short for that.
            Err(Side::Write(e)) => {
                tracing::debug!(error = %e, "the engine no longer takes input");
                InputEnd::HalfClosed
            }
        };
        let _ = engine_w.shutdown().await;
        end
    };
    let to_client = async {
        let result = copy(&mut engine_r, &mut client_w, |n| counters.add_out(n)).await;
        let _ = client_w.shutdown().await;
        result
    };
    tokio::pin!(to_engine, to_client);

    let mut input_open = true;
    let outcome = loop {
        tokio::select! {
            end = &mut to_engine, if input_open => match end {
                InputEnd::HalfClosed => input_open = false,
                InputEnd::Failed => break Err(()),
            },
            result = &mut to_client => break result.map_err(|_| ()),
        }
    };
    if outcome.is_ok() {
        counters.set_complete();
    }
    drop(record);
}

/// Which side of a copy failed.
enum Side {
    Read(io::Error),
    Write(io::Error),
}

/// Copies until EOF, flushing after every read so interactive bytes are never held back.
async fn copy<R, W>(reader: &mut R, writer: &mut W, count: impl Fn(usize)) -> Result<(), Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUF];
    loop {
        let n = reader.read(&mut buf).await.map_err(Side::Read)?;
        if n == 0 {
            return Ok(());
        }
        writer.write_all(&buf[..n]).await.map_err(Side::Write)?;
        writer.flush().await.map_err(Side::Write)?;
        count(n);
    }
}

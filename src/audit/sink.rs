//! Where audit lines go: standard error, like the rest of the log, in small batches.
//!
//! Each event is formatted by its caller ([`line`](super::line)), appended to a shared buffer,
//! and written out before `emit` returns: whoever holds the write lock writes everything pending,
//! so lines that arrive while another thread writes go out together in one `write`. A line is
//! never left behind in memory (a reader of the log sees it as soon as the request's audit
//! record is done), and nothing is dropped: when standard error blocks, producers wait for it.
//!
//! Measured (bench/README.md): batching lines for up to 10 ms would save another 2 µs per
//! request, at the price of losing up to 10 ms of audit trail in a crash and of readers not
//! finding a line right after the response; not taken.
//!
//! Audit lines never pass the log filter (`log.level`, `RUST_LOG`): an audit trail that a log
//! level can switch off is no audit trail. Before [`init`] (in-process tests, tools that never
//! serve) nothing is written.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use super::line::{self, Value};
use crate::config::LogFormat;

static SINK: OnceLock<Sink> = OnceLock::new();

pub struct Sink {
    format: LogFormat,
    pending: Mutex<String>,
    /// Held while writing, so that batches reach standard error in order.
    writing: Mutex<()>,
}

/// Sends audit events to standard error in `format` from now on.
pub fn init(format: LogFormat) {
    let _ = SINK.set(Sink {
        format,
        pending: Mutex::new(String::with_capacity(4096)),
        writing: Mutex::new(()),
    });
}

/// The sink, once [`init`] ran.
pub fn get() -> Option<&'static Sink> {
    SINK.get()
}

/// Writes out anything still pending (at shutdown).
pub fn flush() {
    if let Some(s) = SINK.get() {
        s.write_out();
    }
}

impl Sink {
    /// Formats and queues one event.
    pub fn emit(&self, level: &str, target: &str, message: &str, fields: &[(&str, Value<'_>)]) {
        let mut text = String::with_capacity(512);
        line::write(&mut text, self.format, level, target, message, fields);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&text);
        self.write_out();
    }

    fn write_out(&self) {
        let _order = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.is_empty() {
                return;
            }
            std::mem::replace(&mut *pending, String::with_capacity(4096))
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(batch.as_bytes());
        let _ = err.flush();
    }
}

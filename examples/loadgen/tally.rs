//! What a run counts: latencies of the successful requests (every one kept, as nanoseconds, and
//! sorted at the end for exact percentiles), the failures, and the first failure to show.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::error::Error;

/// Runs `n` workers made by `spawn` to their end and merges what they counted, sorted.
pub async fn gather<F>(n: usize, mut spawn: impl FnMut() -> F) -> Tally
where
    F: Future<Output = Tally> + Send + 'static,
{
    let mut workers = JoinSet::new();
    for _ in 0..n {
        workers.spawn(spawn());
    }
    let mut tally = Tally::default();
    while let Some(done) = workers.join_next().await {
        tally.merge(done.expect("a load worker panicked"));
    }
    tally.sort();
    tally
}

#[derive(Default)]
pub struct Tally {
    latencies: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<Error>,
}

impl Tally {
    pub fn with_capacity(n: usize) -> Self {
        Tally {
            latencies: Vec::with_capacity(n),
            ..Tally::default()
        }
    }

    pub fn success(&mut self, latency: Duration) {
        self.latencies
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn error(&mut self, err: Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(err);
        }
    }

    /// Only the first error is worth keeping; the rest are counted.
    pub fn merge(&mut self, other: Tally) {
        self.latencies.extend_from_slice(&other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn successes(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// Sorts the latencies: call before `percentile_ms`.
    pub fn sort(&mut self) {
        self.latencies.sort_unstable();
    }

    /// The nearest-rank percentile (`q` in 0..=1) in milliseconds; 0 without samples.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let n = self.latencies.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        round(self.latencies[rank - 1] as f64 / 1e6, 4)
    }
}

/// `x` rounded to `digits` decimals, to keep the JSON readable.
pub fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

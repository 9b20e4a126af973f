//! Durations in the config ("10s", "1m 30s", humantime's syntax), each with an upper bound.
//!
//! Why bounded: hyper and tokio add a timeout to `Instant::now()`, which panics on overflow, so
//! `header_timeout = "300000000000years"` passed `check` and then panicked every connection.
//! Why term by term: humantime 2.4 sums the terms of one string with a carry that panics in
//! `Duration::new` near `u64::MAX` seconds (`"18446744073709551615s 500ms 500ms"`), while a
//! single term cannot reach that carry; so each term is parsed alone and the sum is checked here.

use std::time::Duration;

/// The longest timeout (handshake, first byte, request head, engine connect): one hour. A timeout
/// guards against a peer that sends nothing; past an hour it no longer does, it only holds a slot.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The longest `shutdown.grace`: a day, which outlasts any build or push worth waiting for on a
/// stop, and still ends a stop that systemd's `TimeoutStopSec` would otherwise have to cut.
pub const MAX_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a duration value was refused. The message is completed by the key it came from.
#[derive(Debug, thiserror::Error)]
pub enum DurationError {
    #[error("`{text}` is not a duration like \"10s\" or \"2m\"")]
    Syntax {
        text: String,
        /// Boxed: it is large, and every `ConfigError` would carry its size.
        #[source]
        source: Box<humantime::DurationError>,
    },
    #[error("must be a duration like \"10s\" or \"2m\", not empty")]
    Empty,
    #[error("must be greater than zero")]
    Zero,
    #[error("`{text}` is longer than the maximum of {}", humantime::format_duration(*max))]
    TooLong { text: String, max: Duration },
}

/// Parses `text` and checks it lies in `(0, max]`.
pub fn parse(text: &str, max: Duration) -> Result<Duration, DurationError> {
    let too_long = || DurationError::TooLong {
        text: text.to_string(),
        max,
    };
    if text.trim().is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = Duration::ZERO;
    for term in terms(text.trim()) {
        let d = humantime::parse_duration(term).map_err(|e| DurationError::Syntax {
            text: text.to_string(),
            source: Box::new(e),
        })?;
        total = total.checked_add(d).ok_or_else(too_long)?;
        if total > max {
            return Err(too_long());
        }
    }
    if total.is_zero() {
        return Err(DurationError::Zero);
    }
    Ok(total)
}

/// Splits `"1h 30m5s"` into `"1h "`, `"30m"`, `"5s"`: a term ends where a digit follows a unit.
/// Whatever is not a valid term is left for humantime to refuse.
fn terms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut after_unit = false;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if after_unit {
                out.push(&text[start..i]);
                start = i;
            }
            after_unit = false;
        } else if c.is_alphabetic() {
            after_unit = true;
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_where_a_number_follows_a_unit() {
        assert_eq!(terms("1h 30m5s"), ["1h ", "30m", "5s"]);
        assert_eq!(terms("1.5s"), ["1.5s"]);
        assert_eq!(terms("5s"), ["5s"]);
    }

    #[test]
    fn values_within_the_bound_parse() {
        assert_eq!(
            parse("10s", MAX_TIMEOUT).ok(),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse(" 1m 30s ", MAX_TIMEOUT).ok(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse("1h", MAX_TIMEOUT).ok(), Some(MAX_TIMEOUT));
        assert_eq!(parse("59m 60s", MAX_TIMEOUT).ok(), Some(MAX_TIMEOUT));
        assert_eq!(parse("24h", MAX_GRACE).ok(), Some(MAX_GRACE));
        assert_eq!(
            parse("1000000000ns 1000000000ns", MAX_TIMEOUT).ok(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse("250ms", MAX_TIMEOUT).ok(),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let cases = [
            ("soon", "not a duration"),
            ("", "not empty"),
            ("  ", "not empty"),
            ("10", "not a duration"),
            ("0s", "greater than zero"),
            ("0ms 0s", "greater than zero"),
            ("1h 1ns", "maximum of 1h"),
            ("3601s", "maximum of 1h"),
            ("300000000000years", "maximum of 1h"),
            ("99999999999999999999s", "not a duration"),
            ("18446744073709551615s 500ms 500ms", "maximum of 1h"),
            ("18446744073709551615s 999999999ns 1ns", "maximum of 1h"),
            (
                "18446744073709551615s 18446744073709551615s",
                "maximum of 1h",
            ),
            ("307445734561825860.25m", "maximum of 1h"),
            ("18446744073709551615.5s", "maximum of 1h"),
        ];
        for (text, want) in cases {
            let got = std::panic::catch_unwind(|| parse(text, MAX_TIMEOUT))
                .unwrap_or_else(|_| panic!("`{text}` panicked"));
            let err = got.expect_err(text).to_string();
            assert!(err.contains(want), "`{text}`: {err}");
        }
    }
}

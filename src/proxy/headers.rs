//! Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection and are not
//! forwarded, except the `Connection: Upgrade` / `Upgrade:` pair of a protocol switch, which the
//! engine must see on hijack requests and the client must see on the `101`.
//!
//! Trailer fields pass through, in both directions (RFC 9110 section 6.5). `Trailer`, which
//! announces them, is end-to-end (section 6.6.2) and kept: hyper writes only the trailer fields a
//! `Trailer` header names, and only in a chunked message. `TE` is hop-by-hop (section 10.1.4):
//! of it only the `trailers` keyword goes on, as `TE: trailers` with the `Connection: TE` that
//! section asks of a sender. hyper's server writes a response's trailers only to a client that
//! sent `TE: trailers`, so a client that did not gets the body without them; the engine is told
//! exactly what this client accepts. Transfer codings in `TE` are not forwarded: both hops speak
//! chunked only. (`TE` means something in requests only; the engine never sends it.)

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Removes hop-by-hop headers, including those the `Connection` header names, and
/// `Expect` (the client's `100-continue` was already answered on the client's hop); keeps
/// `TE: trailers` (see above).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let accepts_trailers = lists(headers, &header::TE, "trailers");
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    for name in ["keep-alive", "proxy-connection"] {
        headers.remove(name);
    }
    headers.remove(header::EXPECT);
    if accepts_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("TE"));
    }
}

/// Restores the protocol-switch pair after stripping (keeping `TE` among the connection options).
pub fn set_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) {
    let connection = if headers.contains_key(header::TE) {
        "Upgrade, TE"
    } else {
        "Upgrade"
    };
    headers.insert(header::CONNECTION, HeaderValue::from_static(connection));
    headers.insert(header::UPGRADE, upgrade);
}

/// Whether a comma-separated list header has `token` (case-insensitive, parameters ignored).
fn lists(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(token))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn trailer_is_kept_and_te_keeps_only_trailers() {
        let mut h = map(&[
            ("trailer", "X-Checksum"),
            ("te", "gzip, Trailers"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("transfer-encoding", "chunked"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h["trailer"], "X-Checksum");
        assert_eq!(h["te"], "trailers");
        assert_eq!(h["connection"], "TE");
        assert!(!h.contains_key("x-hop") && !h.contains_key("transfer-encoding"));
    }

    #[test]
    fn te_without_trailers_is_dropped() {
        let mut h = map(&[("te", "gzip;q=0.5"), ("connection", "TE")]);
        strip_hop_by_hop(&mut h);
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn upgrade_keeps_te_among_the_connection_options() {
        let mut h = map(&[("te", "trailers"), ("connection", "Upgrade, TE")]);
        strip_hop_by_hop(&mut h);
        set_upgrade(&mut h, HeaderValue::from_static("tcp"));
        assert_eq!(h["connection"], "Upgrade, TE");
        assert_eq!(h["upgrade"], "tcp");
        let mut h = HeaderMap::new();
        set_upgrade(&mut h, HeaderValue::from_static("tcp"));
        assert_eq!(h["connection"], "Upgrade");
    }
}

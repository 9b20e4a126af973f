//! Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection and are not
//! forwarded, except the `Connection: Upgrade` / `Upgrade:` pair of a protocol switch, which the
//! engine must see on hijack requests and the client must see on the `101`.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Removes hop-by-hop headers, including those the `Connection` header names, and
/// `Expect` (the client's `100-continue` was already answered on the client's hop).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
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
}

/// Restores the protocol-switch pair after stripping.
pub fn set_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, upgrade);
}

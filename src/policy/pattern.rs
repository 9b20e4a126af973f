//! Matching a profile's "METHODS PATH" entries against a request.
//!
//! Patterns are anchored at both ends and matched segment by segment against the canonical,
//! percent-decoded path without its `/vX.Y` prefix: a literal matches itself, `*` and `{id}` one
//! segment, `{name}` one or more (image and plugin references hold `/`), `**` whatever is left,
//! nothing included. Paths of Podman's API (`/libpod/...`, a different body schema that this
//! gateway does not inspect) match only a pattern that names `libpod` literally, so a `/**` or
//! `*` entry never lets them through.

use http::Method;

use crate::config::{RoutePattern, Segment};

/// Whether `p` allows `method` on `path` (unversioned, canonical).
pub fn matches(p: &RoutePattern, method: &Method, path: &str) -> bool {
    if let Some(methods) = &p.methods {
        if !methods.contains(method) {
            return false;
        }
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    if segments.first() == Some(&"libpod")
        && p.segments.first() != Some(&Segment::Literal("libpod".into()))
    {
        return false;
    }
    match_from(&p.segments, &segments)
}

fn match_from(pattern: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return path.is_empty();
    };
    match first {
        Segment::Rest => true,
        Segment::Literal(l) => path.first() == Some(&l.as_str()) && match_from(rest, &path[1..]),
        Segment::One => !path.is_empty() && match_from(rest, &path[1..]),
        Segment::Name => (1..=path.len()).any(|n| match_from(rest, &path[n..])),
    }
}

/// An engine route's template in pattern syntax: `/containers/{name:.*}/start` →
/// `/containers/{id}/start`; image, plugin and distribution names → `{name}`.
pub fn route_pattern(template: &str) -> String {
    let named = ["/images/", "/plugins/", "/distribution/"]
        .iter()
        .any(|p| template.starts_with(p));
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(if named { "{name}" } else { "{id}" });
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::allow_entry;
    use crate::config::AllowEntry;

    fn pat(text: &str) -> RoutePattern {
        match allow_entry(text).unwrap() {
            AllowEntry::Route(r) => r,
            AllowEntry::ReadOnly => panic!("not a route"),
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("GET /containers/json", "GET", "/containers/json", true),
            ("GET /containers/json", "HEAD", "/containers/json", false),
            ("GET,HEAD /_ping", "HEAD", "/_ping", true),
            ("* /_ping", "DELETE", "/_ping", true),
            ("GET /containers/json", "GET", "/containers/json/x", false),
            ("GET /containers/json", "GET", "/containers", false),
            (
                "POST /containers/{id}/start",
                "POST",
                "/containers/abc/start",
                true,
            ),
            (
                "POST /containers/{id}/start",
                "POST",
                "/containers/a/b/start",
                false,
            ),
            (
                "POST /containers/{id}/start",
                "POST",
                "/containers/start",
                false,
            ),
            (
                "GET /images/{name}/json",
                "GET",
                "/images/registry:5000/a/b:tag/json",
                true,
            ),
            (
                "GET /images/{name}/json",
                "GET",
                "/images/busybox/json",
                true,
            ),
            ("GET /images/{name}/json", "GET", "/images/json", false),
            (
                "GET /images/{name}/json",
                "GET",
                "/images/a/json/json",
                true,
            ),
            ("DELETE /containers/*", "DELETE", "/containers/x", true),
            ("DELETE /containers/*", "DELETE", "/containers/x/y", false),
            ("GET /containers/**", "GET", "/containers", true),
            ("GET /containers/**", "GET", "/containers/x/logs", true),
            ("GET /containers/**", "GET", "/containersx", false),
            ("GET /**", "GET", "/anything/at/all", true),
            ("GET /**", "GET", "/libpod/containers/json", false),
            ("* /*/**", "GET", "/libpod/info", false),
            ("GET /libpod/**", "GET", "/libpod/info", true),
        ];
        for (p, m, path, want) in cases {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            assert_eq!(matches(&pat(p), &method, path), *want, "{p} vs {m} {path}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "GET",
            "GET /a /b",
            "FETCH /x",
            "get /x",
            "GET,GET /x",
            "GET x",
            "GET /",
            "GET /a//b",
            "GET /a/",
            "GET /a/../b",
            "GET /**/x",
            "GET /a*",
            "GET /{}",
            "GET /{a-b}",
            "GET /v1.41/containers/json",
            "GET /a%2fb",
            "",
        ] {
            assert!(allow_entry(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn engine_routes_in_pattern_syntax() {
        assert_eq!(
            route_pattern("/containers/{name:.*}/start"),
            "/containers/{id}/start"
        );
        assert_eq!(
            route_pattern("/images/{name:.*}/json"),
            "/images/{name}/json"
        );
        assert_eq!(
            route_pattern("/containers/{name}/checkpoints/{checkpoint}"),
            "/containers/{id}/checkpoints/{id}"
        );
        assert_eq!(route_pattern("/_ping"), "/_ping");
    }
}

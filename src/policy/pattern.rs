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

/// Whether some request `p` allows would be dispatched to `route` by its path and method (an
/// earlier route that takes the path first is not considered): for the load-time warnings, so
/// that `POST /services/web/update` is seen to reach the service update as surely as
/// `POST /services/{id}/update` or `POST /**`.
pub fn reaches(p: &RoutePattern, route: &super::routes::Route) -> bool {
    if p.methods
        .as_ref()
        .is_some_and(|m| !m.contains(&route.method))
    {
        return false;
    }
    let mut ours = Vec::new();
    for seg in &p.segments {
        match seg {
            Segment::Literal(l) => ours.push(Token::Lit(l)),
            Segment::One => ours.push(Token::One),
            Segment::Name => ours.extend([Token::One, Token::Any]),
            Segment::Rest => ours.push(Token::Any),
        }
    }
    let mut theirs = Vec::new();
    for seg in route.pattern.trim_start_matches('/').split('/') {
        match seg.strip_prefix('{') {
            Some(var) if var.contains(':') => theirs.extend([Token::One, Token::Any]),
            Some(_) => theirs.push(Token::One),
            None => theirs.push(Token::Lit(seg)),
        }
    }
    overlap(&ours, &theirs)
}

/// One path segment of a pattern or a route template: a literal, any one segment, or any
/// number of segments (none included). `{name}` and `{x:.*}` are one segment and then any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Lit(&'a str),
    One,
    Any,
}

/// Whether some path of non-empty segments matches both token lists.
fn overlap(a: &[Token<'_>], b: &[Token<'_>]) -> bool {
    if a.is_empty() && b.is_empty() {
        return true;
    }
    if a.first() == Some(&Token::Any) && overlap(&a[1..], b) {
        return true;
    }
    if b.first() == Some(&Token::Any) && overlap(a, &b[1..]) {
        return true;
    }
    let (Some(&x), Some(&y)) = (a.first(), b.first()) else {
        return false;
    };
    let same_segment = match (x, y) {
        // Canonical paths have no empty segment (`/debug/pprof/` is never reached).
        (Token::Lit(""), _) | (_, Token::Lit("")) => false,
        (Token::Lit(l), Token::Lit(m)) => l == m,
        _ => true,
    };
    match (x, y) {
        _ if !same_segment => false,
        // Both stay on their `Any`: covered by one of them letting go above.
        (Token::Any, Token::Any) => false,
        (Token::Any, _) => overlap(a, &b[1..]),
        (_, Token::Any) => overlap(&a[1..], b),
        _ => overlap(&a[1..], &b[1..]),
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
    fn patterns_reach_the_routes_whose_paths_they_share() {
        let reach = |p: &str, name: &str| {
            let route = crate::policy::routes::by_name(name).expect(name);
            reaches(&pat(p), route)
        };
        let cases: &[(&str, &str, bool)] = &[
            ("POST /services/web/update", "ServiceUpdate", true),
            ("POST /services/{id}/update", "ServiceUpdate", true),
            ("POST /services/*/update", "ServiceUpdate", true),
            ("POST /**", "ServiceUpdate", true),
            ("* /services/**", "ServiceUpdate", true),
            ("GET /services/**", "ServiceUpdate", false),
            ("POST /services/web/inspect", "ServiceUpdate", false),
            ("POST /services/update", "ServiceUpdate", false),
            ("POST /services", "ServiceUpdate", false),
            ("POST /containers/web/start", "ContainerStart", true),
            ("POST /containers/a/b/start", "ContainerStart", true),
            ("POST /containers/{id}/start", "ContainerStop", false),
            ("GET /images/app/get", "ImageGet", true),
            ("GET /images/{name}/get", "ImageGet", true),
            ("GET /images/get", "ImageGet", false),
            ("GET /images/get", "ImageGetAll", true),
            ("GET /images/{name}/json", "ImageInspect", true),
            ("GET /images/{name}/json", "ImageList", false),
            ("POST /plugins/sshfs/set", "PluginSet", true),
            ("GET /debug/**", "DebugPprofIndex", false),
            ("GET /debug/**", "DebugVars", true),
            ("GET /**", "DebugPprofTrace", true),
            ("* /**", "SystemOptions", true),
            ("GET /_ping", "SystemOptions", false),
            ("OPTIONS /x", "SystemOptions", true),
        ];
        for (p, name, want) in cases {
            assert_eq!(reach(p, name), *want, "{p} reaches {name}");
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

//! Generated request paths against the path normaliser and the route table: `path::canonical`
//! never panics, accepts exactly the paths a hand-written percent-decoder calls canonical and
//! returns what that decoder returns, and its output is canonical again; `routes::dispatch` never
//! panics, ignores a version prefix, and a `read-only` client is allowed exactly the routes of
//! the read-only table (never with `Upgrade`), whatever the path looks like.
//!
//! Paths are built from segments: route words (some percent-encoded), version prefixes, `.`,
//! `..`, empty segments, `%xx` escapes of any byte (`%2f`, `%2e`, `%25`, `%00`, UTF-8 sequences
//! and broken ones), malformed escapes, non-ASCII and control characters, and random printable
//! text. The runner's seed is fixed, so a failure reproduces.

use dockgate::config::{Access, AllowRule, Matcher};
use dockgate::policy::path::canonical;
use dockgate::policy::{read_only, routes, Decision, Policy, RequestView};
use dockgate::tls::ClientIdentity;
use http::Method;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::RngSeed;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4000,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x646f_636b_6761_7465),
        ..ProptestConfig::default()
    }
}

const WORDS: &[&str] = &[
    "containers",
    "json",
    "images",
    "export",
    "archive",
    "exec",
    "start",
    "attach",
    "ws",
    "_ping",
    "version",
    "info",
    "events",
    "volumes",
    "networks",
    "swarm",
    "unlockkey",
    "secrets",
    "configs",
    "debug",
    "pprof",
    "vars",
    "cmdline",
    "get",
    "create",
    "logs",
    "stats",
    "top",
    "changes",
    "plugins",
    "privileges",
    "distribution",
    "nodes",
    "services",
    "tasks",
    "system",
    "df",
    "checkpoints",
    "history",
    "search",
    "session",
    "grpc",
    "build",
    "prune",
    "update",
    "x",
    "web",
    "busybox",
    "registry:5000",
    "my-app",
    "a.b",
    "...",
];

const VERSIONS: &[&str] = &[
    "v1.41", "v1.24", "v1.51", "v1", "v1.", "v", "v1.41.2", "vx", "V1.41", "v1..41", "v.", "v0",
    "v1.41x", "v%31.41",
];

/// One path segment (it may itself hold a `/`, as `%2f` or raw text can).
fn segment() -> BoxedStrategy<String> {
    let encoded_word = (
        select(WORDS),
        prop::collection::vec(any::<(bool, bool)>(), 16),
    )
        .prop_map(|(word, picks)| {
            word.bytes()
                .zip(picks.into_iter().cycle())
                .map(|(b, (encode, upper))| match (encode && b % 3 == 0, upper) {
                    (false, _) => (b as char).to_string(),
                    (true, true) => format!("%{b:02X}"),
                    (true, false) => format!("%{b:02x}"),
                })
                .collect::<String>()
        });
    prop_oneof![
        12 => select(WORDS).prop_map(str::to_string),
        4 => encoded_word,
        3 => select(VERSIONS).prop_map(str::to_string),
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => Just(String::new()),
        3 => (any::<u8>(), any::<bool>(), select(WORDS)).prop_map(|(b, upper, w)| {
            let esc = if upper { format!("%{b:02X}") } else { format!("%{b:02x}") };
            format!("{w}{esc}")
        }),
        2 => select(vec![
            "%2f", "%2F", "%2e", "%2E", "%2e%2e", "%25", "%252f", "%00", "%0a", "%0D", "%7f", "%ff",
            "%C3%A9", "%c3", "%E2%82", "%ED%A0%80", "%F0%9F%98%80", "%C2%85", "%",
            "%g0", "%2", "%+1", "%%", "%-1", "% 1", "%0",
        ])
        .prop_map(str::to_string),
        2 => select(vec![
            "é", "\u{17F}", "日本", "\u{202E}", "\u{85}", "\t", "\u{7f}", "\u{0}", " ", "?", "#",
            ";", "\\", "\u{FEFF}", "\u{1F600}", "\n",
        ])
        .prop_map(str::to_string),
        2 => "[ -~]{0,6}",
    ]
    .boxed()
}

fn path() -> BoxedStrategy<String> {
    let absolute = (
        prop::collection::vec(segment(), 0..7),
        any::<bool>(),
        0u8..8,
    )
        .prop_map(|(segments, trailing, versioned)| {
            let mut p = String::new();
            if versioned == 0 {
                p.push_str("/v1.41");
            }
            for s in &segments {
                p.push('/');
                p.push_str(s);
            }
            if trailing || p.is_empty() {
                p.push('/');
            }
            p
        });
    prop_oneof![
        20 => absolute,
        1 => prop::collection::vec(segment(), 0..4).prop_map(|s| s.join("/")),
        1 => any::<String>(),
        1 => "[/%.a-fA-F0-9]{0,12}",
    ]
    .boxed()
}

/// Text for a route's `{name}` variable: names, names with slashes, encoded bytes, words that
/// are also route suffixes.
const NAMES: &[&str] = &[
    "web",
    "x/export",
    "a/json",
    "json",
    "get",
    "busybox",
    "registry:5000/team/app",
    "my%2Dapp",
    "%2e%2e",
    "",
    "e%CC%81",
    "a%2fb",
    "..",
    "x/",
    "v1.41",
    "%77eb",
    "sha256:0123abcd",
];

/// A request shaped like one of the engine's routes: its pattern with the variables filled in,
/// some bytes percent-encoded, sometimes a version prefix, usually the route's own method.
fn route_request() -> BoxedStrategy<(String, Method)> {
    let route = (0..routes::ROUTES.len()).prop_map(|i| &routes::ROUTES[i]);
    (
        route,
        prop::collection::vec(select(NAMES), 3),
        prop::collection::vec(0u8..16, 24),
        select(vec![
            "", "", "", "/v1.41", "/v1.24", "/v1", "/v1.41.2", "/vx",
        ]),
        prop_oneof![6 => Just(None), 1 => method().prop_map(Some)],
    )
        .prop_map(|(route, names, encode, version, other_method)| {
            let mut path = version.to_string();
            let mut names = names.into_iter();
            let mut rest = route.pattern;
            while let Some(open) = rest.find('{') {
                path.push_str(&rest[..open]);
                path.push_str(names.next().unwrap_or("x"));
                let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
                rest = &rest[close..];
            }
            path.push_str(rest);
            // Percent-encode a few literal bytes (never a `/` or a `%`).
            let path: String = path
                .bytes()
                .zip(encode.into_iter().cycle())
                .map(|(b, e)| match (b, e) {
                    (b'/' | b'%', _) | (_, 2..) => (b as char).to_string(),
                    (_, 0) => format!("%{b:02X}"),
                    (_, _) => format!("%{b:02x}"),
                })
                .collect();
            (path, other_method.unwrap_or_else(|| route.method.clone()))
        })
        .boxed()
}

/// A request path and method: random paths, and route-shaped ones.
fn request() -> BoxedStrategy<(String, Method)> {
    prop_oneof![
        1 => (path(), method()),
        1 => route_request(),
    ]
    .boxed()
}

fn method() -> impl Strategy<Value = Method> {
    select(vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
    ])
}

/// What a canonical path decodes to, written independently of `path::canonical`: `None` where
/// it must be refused.
fn by_hand(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix('/')?;
    if rest.is_empty() {
        return Some("/".to_string());
    }
    let mut pieces = raw.split('%');
    let mut bytes: Vec<u8> = pieces.next().unwrap_or_default().as_bytes().to_vec();
    for piece in pieces {
        let hex = piece.as_bytes().get(..2)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if matches!(byte, b'/' | b'.' | b'%') {
            return None;
        }
        bytes.push(byte);
        bytes.extend_from_slice(&piece.as_bytes()[2..]);
    }
    if bytes.iter().any(|b| *b < 0x20 || *b == 0x7f) {
        return None;
    }
    let decoded = String::from_utf8(bytes).ok()?;
    let bad_segment = decoded[1..]
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    (!bad_segment).then_some(decoded)
}

fn reader() -> (Policy, ClientIdentity) {
    let rule = AllowRule {
        name: "reader".into(),
        matcher: Matcher {
            cn: Some("reader".into()),
            ..Matcher::default()
        },
        access: Access::ReadOnly,
    };
    let id = ClientIdentity {
        cn: Some("reader".into()),
        fingerprint: "f".repeat(64),
        ..ClientIdentity::default()
    };
    (Policy::compile(&[rule]), id)
}

fn read_only_route(route: Option<&routes::Route>) -> bool {
    route.is_some_and(|r| read_only::ALLOWED.iter().any(|(name, _)| *name == r.name))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn canonical_accepts_exactly_decoded_canonical_paths((raw, _) in request()) {
        let got = canonical(&raw);
        prop_assert_eq!(got.clone().ok(), by_hand(&raw), "{:?} gave {:?}", raw, got);
        if let Ok(out) = got {
            prop_assert!(out.starts_with('/'), "{:?} -> {:?}", raw, out);
            prop_assert!(!out.contains("//"), "{:?} -> {:?}", raw, out);
            prop_assert!(out == "/" || !out.ends_with('/'), "{:?} -> {:?}", raw, out);
            prop_assert!(
                !out.split('/').any(|s| s == "." || s == ".."),
                "{:?} -> {:?}", raw, out
            );
            prop_assert!(!out.chars().any(|c| c.is_ascii_control()), "{:?} -> {:?}", raw, out);
            if !out.contains('%') {
                prop_assert_eq!(canonical(&out), Ok(out.clone()), "not idempotent on {:?}", raw);
            }
        }
    }

    #[test]
    fn dispatch_never_panics_and_ignores_the_version_prefix((raw, method) in request()) {
        let _ = routes::dispatch(&method, &raw);
        let _ = routes::api_version(&raw);
        if let Ok(p) = canonical(&raw) {
            if routes::unversioned(&p) == p && p != "/" {
                let route = routes::dispatch(&method, &p).map(|r| r.name);
                for v in ["v1.41", "v1", "v1.24.0"] {
                    let versioned = format!("/{v}{p}");
                    prop_assert_eq!(
                        routes::dispatch(&method, &versioned).map(|r| r.name),
                        route,
                        "{} {} vs {}", method, versioned, p
                    );
                }
            }
        }
    }

    #[test]
    fn read_only_allows_exactly_the_read_only_routes(
        (raw, method) in request(),
        upgrade in any::<bool>(),
    ) {
        let (policy, id) = reader();
        if let Ok(p) = canonical(&raw) {
            let decision = policy.decide(&id, &RequestView::simple(&method, &p, upgrade));
            let route = routes::dispatch(&method, &p);
            let allowed = !upgrade && read_only_route(route);
            let want = if allowed {
                Decision::Allow(Access::ReadOnly)
            } else {
                Decision::Forbidden(Access::ReadOnly)
            };
            prop_assert_eq!(
                &decision, &want,
                "{} {} (upgrade {}) reaches {:?}", method, p, upgrade, route.map(|r| r.name)
            );
            if allowed {
                prop_assert!(method == Method::GET || method == Method::HEAD, "{} {}", method, p);
            }
        }
    }
}

/// The generated paths are not vacuous: they reach every refusal, canonical paths, engine
/// routes, and routes the read-only table allows.
#[test]
fn generated_paths_reach_every_outcome() {
    use dockgate::policy::path::PathError;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let (policy, id) = reader();
    let strategy = request();
    let mut runner = TestRunner::new(config());
    let mut refusals = std::collections::BTreeMap::new();
    let (mut canonical_paths, mut routed, mut read_only_allowed) = (0, 0, 0);
    let cases = 4000;
    for _ in 0..cases {
        let (raw, method) = strategy.new_tree(&mut runner).expect("a path").current();
        match canonical(&raw) {
            Err(e) => *refusals.entry(format!("{e:?}")).or_insert(0) += 1,
            Ok(p) => {
                canonical_paths += 1;
                routed += usize::from(routes::dispatch(&method, &p).is_some());
                let view = RequestView::simple(&method, &p, false);
                read_only_allowed +=
                    usize::from(policy.decide(&id, &view) == Decision::Allow(Access::ReadOnly));
            }
        }
    }
    println!(
        "{cases} paths: {canonical_paths} canonical, {routed} routed, {read_only_allowed} \
         allowed read-only; refused: {refusals:?}"
    );
    for e in [
        PathError::NotAbsolute,
        PathError::EmptySegment,
        PathError::DotSegment,
        PathError::EncodedDelimiter,
        PathError::BadEncoding,
        PathError::BadCharacter,
    ] {
        assert!(
            refusals.get(&format!("{e:?}")).copied().unwrap_or(0) >= 20,
            "too few paths refused with {e:?}"
        );
    }
    assert!(canonical_paths * 4 >= cases, "{canonical_paths} canonical");
    assert!(routed * 5 >= cases, "{routed} routed");
    assert!(
        read_only_allowed >= 100,
        "{read_only_allowed} allowed read-only"
    );
}

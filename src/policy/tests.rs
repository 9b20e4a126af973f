//! Table tests for the policy decision and path handling.

use http::Method;

use super::path::{canonical, PathError};
use super::{read_only, routes, Decision, Policy, RequestView};
use crate::config::{Access, AllowRule, Matcher};
use crate::tls::ClientIdentity;

fn id(cn: &str) -> ClientIdentity {
    ClientIdentity {
        cn: Some(cn.to_string()),
        fingerprint: "f".repeat(64),
        ..ClientIdentity::default()
    }
}

fn rule(matcher: Matcher, access: Access) -> AllowRule {
    AllowRule {
        name: std::sync::Arc::from("test"),
        matcher,
        access,
    }
}

fn cn(name: &str) -> Matcher {
    Matcher {
        cn: Some(name.to_string()),
        ..Matcher::default()
    }
}

fn decide(p: &Policy, who: &ClientIdentity, method: Method, path: &str, upgrade: bool) -> Decision {
    p.decide(who, &RequestView::simple(&method, path, upgrade))
}

fn reader() -> (Policy, ClientIdentity) {
    (Policy::compile(&[rule(cn("r"), Access::ReadOnly)]), id("r"))
}

/// `path` as the CLI sends it (`/v1.xx/...`) and bare.
fn both_forms(path: &str) -> [String; 3] {
    [
        path.to_string(),
        format!("/v1.41{path}"),
        format!("/v1.51{path}"),
    ]
}

const READ_ONLY: Decision = Decision::Allow(Access::ReadOnly);
const DENIED: Decision = Decision::Forbidden(Access::ReadOnly);

#[test]
fn read_only_allows_every_listed_route_versioned_and_not_but_never_with_upgrade() {
    let (p, r) = reader();
    for (name, _) in read_only::ALLOWED {
        let route = routes::by_name(name).expect("listed route exists");
        for path in both_forms(&route.example_path()) {
            assert_eq!(
                decide(&p, &r, route.method.clone(), &path, false),
                READ_ONLY,
                "{name}: {} {path}",
                route.method
            );
            assert_eq!(
                decide(&p, &r, route.method.clone(), &path, true),
                DENIED,
                "{name}: {} {path} with Upgrade",
                route.method
            );
        }
    }
}

#[test]
fn read_only_denies_every_route_not_listed_versioned_and_not() {
    let (p, r) = reader();
    for route in routes::ROUTES {
        if read_only::ALLOWED.iter().any(|(n, _)| *n == route.name) {
            continue;
        }
        for path in both_forms(&route.example_path()) {
            for upgrade in [false, true] {
                assert_eq!(
                    decide(&p, &r, route.method.clone(), &path, upgrade),
                    DENIED,
                    "{}: {} {path} upgrade={upgrade}",
                    route.name,
                    route.method
                );
            }
        }
    }
}

/// The routes the issue names as leaks, by name: a guard against adding one to the list.
#[test]
fn every_read_only_route_exists_in_the_table_is_a_get_or_head_and_no_known_leak() {
    let never = [
        "SwarmInspect",
        "SwarmUnlockkey",
        "ConfigList",
        "ConfigInspect",
        "SecretList",
        "SecretInspect",
        "DistributionInspect",
        "ImageSearch",
        "GetPluginPrivileges",
        "PluginList",
        "PluginInspect",
        "ImageAttestations",
        "ContainerExport",
        "ContainerArchive",
        "ContainerArchiveInfo",
        "ImageGet",
        "ImageGetAll",
        "ContainerAttach",
        "ContainerAttachWebsocket",
        "ExecStart",
        "CheckpointList",
        "Session",
        "Grpc",
        "SystemOptions",
    ];
    let mut seen = Vec::new();
    for (name, reason) in read_only::ALLOWED {
        let route = routes::by_name(name)
            .unwrap_or_else(|| panic!("read-only lists {name}, which is not in the route table"));
        assert!(
            route.method == Method::GET || route.method == Method::HEAD,
            "{name} is {}",
            route.method
        );
        assert!(!route.pattern.starts_with("/debug/"), "{name}");
        assert!(!never.contains(name), "{name} must not be read-only");
        assert!(!reason.is_empty(), "{name} has no reason");
        assert!(!seen.contains(name), "{name} is listed twice");
        seen.push(name);
    }
    for name in never {
        assert!(routes::by_name(name).is_some(), "{name}");
    }
}

#[test]
fn read_only_table() {
    let (p, r) = reader();
    let table: &[(Method, &str, bool, Decision)] = &[
        // What monitoring and the CLI's read commands use.
        (Method::HEAD, "/_ping", false, READ_ONLY),
        (Method::GET, "/_ping", false, READ_ONLY),
        (Method::GET, "/v1.41/version", false, READ_ONLY),
        (Method::GET, "/containers/json", false, READ_ONLY),
        (Method::GET, "/v1.41/containers/abc/json", false, READ_ONLY),
        (Method::GET, "/v1.41/containers/abc/logs", false, READ_ONLY),
        (Method::GET, "/events", false, READ_ONLY),
        (Method::GET, "/images/busybox/json", false, READ_ONLY),
        (
            Method::GET,
            "/images/registry:5000/team/app/json",
            false,
            READ_ONLY,
        ),
        // Tricky paths: the route the engine runs decides.
        (Method::GET, "/images/get/json", false, READ_ONLY),
        (Method::GET, "/containers/x/export/json", false, READ_ONLY),
        (Method::GET, "/containers/x/archive/json", false, READ_ONLY),
        (Method::GET, "/networks/a/b", false, READ_ONLY),
        (Method::GET, "/v1.41/volumes/a/b", false, READ_ONLY),
        (Method::GET, "/containers/x/json/export", false, DENIED),
        (Method::GET, "/v1.41/containers/a/b/export", false, DENIED),
        (Method::GET, "/v1.48/debug/pprof/cmdline", false, DENIED),
        (Method::GET, "/debug/pprof/heap", false, DENIED),
        (Method::GET, "/debug/vars", false, DENIED),
        (Method::GET, "/v1.41/debug/vars", false, DENIED),
        (Method::GET, "/plugins/privileges/json", false, DENIED),
        (Method::HEAD, "/containers/json", false, DENIED),
        (Method::HEAD, "/v1.41/containers/abc/json", false, DENIED),
        // Leaks the issue found.
        (Method::GET, "/swarm", false, DENIED),
        (Method::GET, "/v1.41/swarm/unlockkey", false, DENIED),
        (Method::GET, "/configs", false, DENIED),
        (Method::GET, "/configs/abc", false, DENIED),
        (Method::GET, "/secrets", false, DENIED),
        (Method::GET, "/secrets/abc", false, DENIED),
        (
            Method::GET,
            "/distribution/registry:5000/x/json",
            false,
            DENIED,
        ),
        (Method::GET, "/images/search", false, DENIED),
        (Method::GET, "/plugins/privileges", false, DENIED),
        (Method::GET, "/plugins", false, DENIED),
        (Method::GET, "/plugins/x/json", false, DENIED),
        (Method::GET, "/images/x/attestations", false, DENIED),
        (Method::GET, "/containers/abc/checkpoints", false, DENIED),
        // Hijacks, with or without Upgrade.
        (
            Method::GET,
            "/v1.41/containers/abc/attach/ws",
            false,
            DENIED,
        ),
        (Method::GET, "/v1.41/containers/abc/attach/ws", true, DENIED),
        (Method::POST, "/containers/abc/attach", false, DENIED),
        (Method::POST, "/exec/abc/start", false, DENIED),
        (Method::POST, "/exec/abc/start", true, DENIED),
        (Method::GET, "/containers/json", true, DENIED),
        // Copying out.
        (Method::GET, "/containers/abc/export", false, DENIED),
        (Method::GET, "/containers/abc/archive", false, DENIED),
        (Method::HEAD, "/v1.24/containers/abc/archive", false, DENIED),
        (Method::GET, "/images/get", false, DENIED),
        (Method::GET, "/v1.41/images/get", false, DENIED),
        (Method::GET, "/images/busybox/get", false, DENIED),
        (
            Method::GET,
            "/images/registry:5000/team/app/get",
            false,
            DENIED,
        ),
        // Changes, and what the engine answers 404.
        (Method::POST, "/containers/create", false, DENIED),
        (Method::DELETE, "/containers/abc", false, DENIED),
        (Method::PUT, "/containers/abc/archive", false, DENIED),
        (Method::OPTIONS, "/containers/json", false, DENIED),
        (Method::GET, "/containers/abc", false, DENIED),
        (Method::GET, "/services/a/b", false, DENIED),
        (Method::GET, "/v1.41/v1.41/containers/json", false, DENIED),
        (Method::GET, "/", false, DENIED),
    ];
    for (method, path, upgrade, want) in table {
        assert_eq!(
            decide(&p, &r, method.clone(), path, *upgrade),
            *want,
            "{method} {path} upgrade={upgrade}"
        );
    }
}

#[test]
fn full_access_is_everything() {
    let p = Policy::compile(&[rule(cn("a"), Access::Full)]);
    let a = id("a");
    for (method, path, upgrade) in [
        (Method::GET, "/swarm", false),
        (Method::POST, "/v1.41/exec/x/start", true),
        (Method::GET, "/no/such/route", false),
        (Method::HEAD, "/containers/json", false),
    ] {
        assert_eq!(
            decide(&p, &a, method.clone(), path, upgrade),
            Decision::Allow(Access::Full),
            "{method} {path}"
        );
    }
}

#[test]
fn first_matching_entry_decides_and_unknown_clients_are_refused() {
    let p = Policy::compile(&[
        rule(cn("admin"), Access::Full),
        rule(cn("*"), Access::ReadOnly),
    ]);
    assert_eq!(
        decide(&p, &id("admin"), Method::POST, "/containers/create", false),
        Decision::Allow(Access::Full)
    );
    assert_eq!(
        decide(&p, &id("bob"), Method::POST, "/containers/create", false),
        Decision::Forbidden(Access::ReadOnly)
    );
    let only_admin = Policy::compile(&[rule(cn("admin"), Access::Full)]);
    assert_eq!(
        decide(&only_admin, &id("bob"), Method::GET, "/_ping", false),
        Decision::UnknownClient
    );
    let nameless = ClientIdentity::default();
    assert_eq!(
        decide(&only_admin, &nameless, Method::GET, "/_ping", false),
        Decision::UnknownClient
    );
}

#[test]
fn every_given_key_must_match() {
    let m = Matcher {
        cn: Some("ci".into()),
        ou: Some("build".into()),
        dns: Some("ci.example.com".into()),
        email: Some("ci@example.com".into()),
        uri: Some("spiffe://example.com/ci".into()),
        fingerprint: Some("f".repeat(64)),
    };
    let p = Policy::compile(&[rule(m, Access::Full)]);
    let mut who = id("ci");
    who.ous = vec!["other".into(), "build".into()];
    who.dns = vec!["ci.example.com".into()];
    who.emails = vec!["ci@example.com".into()];
    who.uris = vec!["spiffe://example.com/ci".into()];
    assert_eq!(p.access_for(&who), Some(Access::Full));
    for spoil in 0..5 {
        let mut w = who.clone();
        match spoil {
            0 => w.ous = vec!["other".into()],
            1 => w.dns.clear(),
            2 => w.emails = vec!["x@example.com".into()],
            3 => w.uris.clear(),
            _ => w.fingerprint = "0".repeat(64),
        }
        assert_eq!(p.access_for(&w), None, "spoiled key {spoil} still matched");
    }
}

#[test]
fn canonical_paths() {
    assert_eq!(canonical("/"), Ok("/".to_string()));
    assert_eq!(
        canonical("/v1.41/containers/json"),
        Ok("/v1.41/containers/json".to_string())
    );
    assert_eq!(
        canonical("/containers/expor%74"),
        Ok("/containers/export".to_string())
    );
    assert_eq!(
        canonical("/containers/%C3%A9"),
        Ok("/containers/é".to_string())
    );
    let bad: &[(&str, PathError)] = &[
        ("containers/json", PathError::NotAbsolute),
        ("*", PathError::NotAbsolute),
        ("//containers", PathError::EmptySegment),
        ("/containers/", PathError::EmptySegment),
        ("/a/./b", PathError::DotSegment),
        ("/a/../b", PathError::DotSegment),
        ("/..", PathError::DotSegment),
        ("/a%2fb", PathError::EncodedDelimiter),
        ("/a%2Eb", PathError::EncodedDelimiter),
        ("/a%25b", PathError::EncodedDelimiter),
        ("/a%2", PathError::BadEncoding),
        ("/a%g0", PathError::BadEncoding),
        ("/a%+1", PathError::BadEncoding),
        ("/a%00", PathError::BadCharacter),
        ("/a%7f", PathError::BadCharacter),
        ("/a%ff", PathError::BadCharacter),
    ];
    for (path, err) in bad {
        assert_eq!(canonical(path).as_ref(), Err(err), "{path}");
    }
}

#[test]
fn version_prefix_is_stripped_like_the_engine_router() {
    let name = |path: &str| routes::dispatch(&Method::GET, path).map(|r| r.name);
    assert_eq!(name("/v1.41/containers/json"), Some("ContainerList"));
    assert_eq!(name("/v1/containers/json"), Some("ContainerList"));
    assert_eq!(name("/containers/json"), Some("ContainerList"));
    assert_eq!(name("/v1.41/volumes/x"), Some("VolumeInspect"));
    // Not a version prefix: moby routes nothing there.
    assert_eq!(name("/v1.41"), None);
    assert_eq!(name("/v/containers/json"), None);
    assert_eq!(name("/vx1/containers/json"), None);
}

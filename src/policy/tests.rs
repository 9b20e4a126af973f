//! Table tests for the policy decision and path handling.

use http::Method;

use super::path::{canonical, strip_version, PathError};
use super::{Decision, Policy, RequestView};
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
    AllowRule { matcher, access }
}

fn cn(name: &str) -> Matcher {
    Matcher {
        cn: Some(name.to_string()),
        ..Matcher::default()
    }
}

fn decide(p: &Policy, who: &ClientIdentity, method: Method, path: &str, upgrade: bool) -> Decision {
    p.decide(
        who,
        &RequestView {
            method: &method,
            path,
            upgrade,
        },
    )
}

#[test]
fn read_only_table() {
    let p = Policy::compile(&[rule(cn("r"), Access::ReadOnly)]);
    let r = id("r");
    let allowed = Decision::Allow(Access::ReadOnly);
    let denied = Decision::Forbidden(Access::ReadOnly);
    let table: &[(Method, &str, bool, Decision)] = &[
        (Method::GET, "/containers/json", false, allowed),
        (Method::HEAD, "/_ping", false, allowed),
        (Method::GET, "/v1.41/containers/abc/json", false, allowed),
        (Method::GET, "/v1.41/containers/abc/logs", false, allowed),
        (Method::GET, "/events", false, allowed),
        (Method::GET, "/images/busybox/json", false, allowed),
        (Method::GET, "/images/get/json", false, allowed),
        (Method::POST, "/containers/create", false, denied),
        (Method::DELETE, "/containers/abc", false, denied),
        (Method::PUT, "/containers/abc/archive", false, denied),
        (Method::OPTIONS, "/containers/json", false, denied),
        (Method::GET, "/containers/abc/export", false, denied),
        (Method::GET, "/v1.41/containers/abc/export", false, denied),
        (Method::GET, "/v1.41/containers/a/b/export", false, denied),
        (Method::GET, "/containers/abc/archive", false, denied),
        (Method::HEAD, "/v1.24/containers/abc/archive", false, denied),
        (Method::GET, "/images/get", false, denied),
        (Method::GET, "/v1.41/images/get", false, denied),
        (Method::GET, "/images/busybox/get", false, denied),
        (
            Method::GET,
            "/images/registry:5000/team/app/get",
            false,
            denied,
        ),
        (Method::GET, "/v1.41/containers/abc/attach/ws", true, denied),
        (Method::GET, "/containers/json", true, denied),
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
    assert_eq!(strip_version("/v1.41/containers/json"), "/containers/json");
    assert_eq!(strip_version("/v1/containers/json"), "/containers/json");
    assert_eq!(strip_version("/v1.41"), "/");
    assert_eq!(strip_version("/volumes/x"), "/volumes/x");
    assert_eq!(strip_version("/v/containers"), "/v/containers");
    assert_eq!(strip_version("/vx1/containers"), "/vx1/containers");
    assert_eq!(strip_version("/containers/json"), "/containers/json");
}

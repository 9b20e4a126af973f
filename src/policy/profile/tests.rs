//! Proves how a profile, loaded from the configuration file, decides a request head (first
//! matching entry, `read-only`, methods and path patterns, versioned paths, old API versions,
//! hijacks, `start` with a body, Podman's API, pulls against `images`), how it judges bodies and
//! reports in `mode = "report"`, which route the audit line names, and which load-time
//! warnings its `allow` list earns.

use std::path::Path;
use std::sync::Arc;

use http::Method;

use super::{judge_body, version_less, warnings, MIN_API_VERSION, POWER};
use crate::config::{Access, Config};
use crate::policy::{BodyKind, BodyOutcome, Decision, Denial, Policy, RequestView, Verdict};
use crate::tls::ClientIdentity;

/// A configuration whose client `c` uses profile `p`, given as the lines of `[profiles.p]`
/// (sub-tables included). Also for the target tests.
pub(crate) fn policy(profile: &str) -> Policy {
    let text = format!(
        r#"
[tls]
ca = "ca.pem"
cert = "cert.pem"
key = "key.pem"

[[allow]]
cn = "c"
access = "p"

[profiles.p]
{profile}
"#
    );
    let config = Config::from_toml(&text, Path::new("/etc/dockgate/dockgate.toml"))
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    Policy::new(&config.allow, &config.profiles)
}

/// A profile that allows exactly `entries`.
fn allowing(entries: &[&str]) -> Policy {
    policy(&format!("allow = {entries:?}"))
}

fn who(cn: &str) -> ClientIdentity {
    ClientIdentity {
        cn: Some(cn.to_string()),
        fingerprint: "f".repeat(64),
        ..ClientIdentity::default()
    }
}

pub(crate) fn profile_p() -> Access {
    Access::Profile(Arc::from("p"))
}

/// What a request carries besides its method and path.
#[derive(Debug, Default, Clone, Copy)]
struct Head<'a> {
    query: Option<&'a str>,
    upgrade: bool,
    body: bool,
}

const PLAIN: Head<'static> = Head {
    query: None,
    upgrade: false,
    body: false,
};
const UPGRADE: Head<'static> = Head {
    upgrade: true,
    ..PLAIN
};
const BODY: Head<'static> = Head {
    body: true,
    ..PLAIN
};

fn query(q: &str) -> Head<'_> {
    Head {
        query: Some(q),
        ..PLAIN
    }
}

fn verdict(p: &Policy, method: &str, path: &str, head: Head<'_>) -> Verdict {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let req = RequestView {
        method: &m,
        path,
        query: head.query,
        upgrade: head.upgrade,
        has_body: head.body,
    };
    p.judge(&who("c"), &req)
}

/// `Ok(entry that allowed it)` or `Err(rule that denied it)`, for an enforcing profile.
fn outcome(p: &Policy, method: &str, path: &str, head: Head<'_>) -> Result<String, String> {
    let v = verdict(p, method, path, head);
    assert!(!v.report, "{method} {path}: an enforcing profile reported");
    match (&v.decision, &v.denial) {
        (Decision::Allow(a), None) => {
            assert_eq!(*a, profile_p());
            Ok(v.entry.clone().expect("an allowed request names its entry"))
        }
        (Decision::Forbidden(a), Some(d)) => {
            assert_eq!(*a, profile_p());
            assert_eq!(v.entry, None, "{method} {path}");
            assert_eq!(
                v.inspect, None,
                "{method} {path}: a denied request inspects nothing"
            );
            Err(d.rule.clone())
        }
        other => panic!("{method} {path}: {other:?}"),
    }
}

type Case<'a> = (&'a str, &'a str, Head<'a>, Result<&'a str, &'a str>);

fn table(p: &Policy, cases: &[Case<'_>]) {
    for (method, path, head, want) in cases {
        let want = want.map(str::to_string).map_err(str::to_string);
        assert_eq!(
            outcome(p, method, path, *head),
            want,
            "{method} {path} {head:?}"
        );
    }
}

const ALLOW: &str = "profiles.p.allow";
const HIJACK: &str = "profiles.p.hijack";
const IMAGES: &str = "profiles.p.images";

#[test]
fn the_first_matching_entry_decides() {
    let p = allowing(&["GET /containers/json", "read-only", "* /**"]);
    table(
        &p,
        &[
            ("GET", "/containers/json", PLAIN, Ok("GET /containers/json")),
            (
                "GET",
                "/v1.41/containers/json",
                PLAIN,
                Ok("GET /containers/json"),
            ),
            ("GET", "/containers/abc/json", PLAIN, Ok("read-only")),
            ("HEAD", "/_ping", PLAIN, Ok("read-only")),
            ("GET", "/swarm", PLAIN, Ok("* /**")),
            ("POST", "/containers/abc/kill", PLAIN, Ok("* /**")),
            ("DELETE", "/v1.41/images/busybox", PLAIN, Ok("* /**")),
            ("GET", "/no/such/route", PLAIN, Ok("* /**")),
            ("GET", "/libpod/info", PLAIN, Err(ALLOW)),
        ],
    );
}

#[test]
fn read_only_entry_is_the_built_in_table() {
    let p = allowing(&["read-only"]);
    table(
        &p,
        &[
            ("GET", "/containers/json", PLAIN, Ok("read-only")),
            ("GET", "/v1.41/containers/abc/logs", PLAIN, Ok("read-only")),
            (
                "GET",
                "/images/registry:5000/a/b/json",
                PLAIN,
                Ok("read-only"),
            ),
            ("GET", "/events", PLAIN, Ok("read-only")),
            ("GET", "/swarm", PLAIN, Err(ALLOW)),
            ("GET", "/containers/abc/export", PLAIN, Err(ALLOW)),
            ("GET", "/containers/x/json/export", PLAIN, Err(ALLOW)),
            ("GET", "/images/get", PLAIN, Err(ALLOW)),
            ("HEAD", "/containers/json", PLAIN, Err(ALLOW)),
            ("POST", "/containers/create", PLAIN, Err(ALLOW)),
            ("DELETE", "/containers/abc", PLAIN, Err(ALLOW)),
        ],
    );
    let v = verdict(&p, "GET", "/v1.41/swarm", PLAIN);
    assert_eq!(
        v.denial.map(|d| (d.rule, d.field, d.message, d.unreadable)),
        Some((
            ALLOW.to_string(),
            None,
            "GET /swarm is not allowed for this client".to_string(),
            false
        ))
    );
}

#[test]
fn methods_are_listed_or_any() {
    let p = allowing(&[
        "GET,HEAD /containers/{id}/archive",
        "DELETE /containers/{id}",
        "GET /containers/json",
        "* /networks/{id}",
    ]);
    let archive = Ok("GET,HEAD /containers/{id}/archive");
    table(
        &p,
        &[
            ("GET", "/containers/x/archive", PLAIN, archive),
            ("HEAD", "/containers/x/archive", PLAIN, archive),
            ("PUT", "/containers/x/archive", PLAIN, Err(ALLOW)),
            (
                "DELETE",
                "/containers/x",
                PLAIN,
                Ok("DELETE /containers/{id}"),
            ),
            ("GET", "/containers/x", PLAIN, Err(ALLOW)),
            ("HEAD", "/containers/json", PLAIN, Err(ALLOW)),
            ("GET", "/networks/n", PLAIN, Ok("* /networks/{id}")),
            ("DELETE", "/networks/n", PLAIN, Ok("* /networks/{id}")),
            ("POST", "/networks/n", PLAIN, Ok("* /networks/{id}")),
        ],
    );
}

#[test]
fn path_patterns() {
    let p = allowing(&[
        "POST /containers/{id}/start",
        "GET /images/{name}/json",
        "DELETE /images/*",
        "GET /containers/**",
    ]);
    let start = Ok("POST /containers/{id}/start");
    let inspect = Ok("GET /images/{name}/json");
    let any = Ok("GET /containers/**");
    table(
        &p,
        &[
            ("POST", "/containers/abc/start", PLAIN, start),
            ("POST", "/containers/a/b/start", PLAIN, Err(ALLOW)),
            ("POST", "/containers/start", PLAIN, Err(ALLOW)),
            ("POST", "/containers/abc/start/x", PLAIN, Err(ALLOW)),
            ("GET", "/images/busybox/json", PLAIN, inspect),
            ("GET", "/images/registry:5000/a/b:tag/json", PLAIN, inspect),
            ("GET", "/images/json", PLAIN, Err(ALLOW)),
            ("DELETE", "/images/busybox", PLAIN, Ok("DELETE /images/*")),
            ("DELETE", "/images/a/b", PLAIN, Err(ALLOW)),
            ("GET", "/containers", PLAIN, any),
            ("GET", "/containers/abc/logs", PLAIN, any),
            ("GET", "/containers/a/b/c/d", PLAIN, any),
            ("GET", "/containersx", PLAIN, Err(ALLOW)),
        ],
    );
}

#[test]
fn versioned_and_bare_paths_alike_but_never_below_1_24() {
    let p = allowing(&["POST /containers/{id}/start", "* /**"]);
    for prefix in ["", "/v1.24", "/v1.25", "/v1.41", "/v1.51", "/v1.56", "/v2"] {
        table(
            &p,
            &[
                (
                    "POST",
                    &format!("{prefix}/containers/abc/start"),
                    PLAIN,
                    Ok("POST /containers/{id}/start"),
                ),
                ("GET", &format!("{prefix}/info"), PLAIN, Ok("* /**")),
            ],
        );
    }
    for prefix in ["/v1.23", "/v1.12", "/v1.9", "/v1", "/v0.99", "/v1.23.9"] {
        let path = format!("{prefix}/containers/abc/start");
        assert_eq!(
            outcome(&p, "POST", &path, PLAIN),
            Err(ALLOW.into()),
            "{path}"
        );
    }
    let v = verdict(&p, "GET", "/v1.23/info", PLAIN);
    assert_eq!(
        v.denial.map(|d| d.message),
        Some("API version 1.23 is older than 1.24, which this client must use at least".into())
    );
    assert_eq!(MIN_API_VERSION, "1.24");
}

#[test]
fn versions_compare_as_moby_compares_them() {
    let table: &[(&str, &str, bool)] = &[
        ("1.23", "1.24", true),
        ("1.24", "1.24", false),
        ("1.25", "1.24", false),
        ("1.9", "1.24", true),
        ("1.100", "1.24", false),
        ("1", "1.24", true),
        ("2", "1.24", false),
        ("1.24.0", "1.24", false),
        ("1.23.99", "1.24", true),
        ("1.24", "1.24.1", true),
        ("", "1.24", true),
    ];
    for (a, b, want) in table {
        assert_eq!(version_less(a, b), *want, "{a} < {b}");
    }
}

#[test]
fn hijacks_need_hijack_true() {
    let routes: &[(&str, &str, Head<'_>)] = &[
        ("POST", "/containers/x/attach", PLAIN),
        (
            "POST",
            "/v1.41/containers/x/attach",
            query("stream=1&stdin=1"),
        ),
        ("POST", "/containers/x/attach", UPGRADE),
        ("GET", "/containers/x/attach/ws", PLAIN),
        ("POST", "/exec/x/start", PLAIN),
        ("POST", "/v1.44/exec/x/start", UPGRADE),
        ("POST", "/session", UPGRADE),
        ("POST", "/session", PLAIN),
        ("POST", "/grpc", UPGRADE),
        ("GET", "/containers/json", UPGRADE),
        ("POST", "/no/such/route", UPGRADE),
    ];
    let closed = allowing(&["* /**"]);
    let open = policy("allow = [\"* /**\"]\nhijack = true");
    for (method, path, head) in routes {
        assert_eq!(
            outcome(&closed, method, path, *head),
            Err(HIJACK.into()),
            "{method} {path} {head:?}"
        );
        assert_eq!(
            outcome(&open, method, path, *head),
            Ok("* /**".into()),
            "{method} {path} {head:?}"
        );
    }
    table(
        &closed,
        &[
            ("POST", "/containers/x/wait", PLAIN, Ok("* /**")),
            ("POST", "/exec/x/resize", PLAIN, Ok("* /**")),
            ("GET", "/exec/x/json", PLAIN, Ok("* /**")),
        ],
    );
    // `hijack = true` does not allow what no entry allows.
    let narrow = policy("allow = [\"GET /containers/json\"]\nhijack = true");
    table(
        &narrow,
        &[
            ("POST", "/exec/x/start", UPGRADE, Err(ALLOW)),
            (
                "GET",
                "/containers/json",
                UPGRADE,
                Ok("GET /containers/json"),
            ),
        ],
    );
    // A read-only entry never allows a protocol switch, even with `hijack = true`.
    let reader = policy("allow = [\"read-only\"]\nhijack = true");
    table(&reader, &[("GET", "/containers/json", UPGRADE, Err(ALLOW))]);
}

#[test]
fn start_with_a_body_is_denied() {
    let p = allowing(&["POST /containers/{id}/start", "POST /containers/{id}/kill"]);
    table(
        &p,
        &[
            (
                "POST",
                "/containers/x/start",
                PLAIN,
                Ok("POST /containers/{id}/start"),
            ),
            ("POST", "/containers/x/start", BODY, Err(ALLOW)),
            ("POST", "/v1.44/containers/x/start", BODY, Err(ALLOW)),
            (
                "POST",
                "/containers/x/kill",
                BODY,
                Ok("POST /containers/{id}/kill"),
            ),
        ],
    );
}

#[test]
fn podman_api_only_when_listed() {
    let any = allowing(&["* /**", "GET /*/**"]);
    table(
        &any,
        &[
            ("GET", "/libpod/info", PLAIN, Err(ALLOW)),
            ("GET", "/v4.0.0/libpod/info", PLAIN, Err(ALLOW)),
            ("POST", "/v1.41/libpod/containers/create", PLAIN, Err(ALLOW)),
            ("GET", "/libpodx/info", PLAIN, Ok("* /**")),
        ],
    );
    let listed = allowing(&["GET /libpod/**"]);
    table(
        &listed,
        &[
            ("GET", "/libpod/info", PLAIN, Ok("GET /libpod/**")),
            (
                "GET",
                "/v4.0.0/libpod/containers/json",
                PLAIN,
                Ok("GET /libpod/**"),
            ),
            ("POST", "/libpod/containers/create", PLAIN, Err(ALLOW)),
        ],
    );
}

#[test]
fn pulls_are_held_to_images() {
    let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let by_digest = format!("fromImage=busybox&tag=sha256:{hex}");
    let p = policy(
        r#"allow = ["POST /images/create"]
images = ["busybox", "registry.example.com/**"]"#,
    );
    let ok = Ok("POST /images/create");
    // Any body: the engine would read a form's parameters before the query's.
    let form = Head {
        query: Some("fromImage=busybox"),
        body: true,
        ..PLAIN
    };
    table(
        &p,
        &[
            (
                "POST",
                "/images/create",
                query("fromImage=busybox&tag=1.36"),
                ok,
            ),
            (
                "POST",
                "/v1.41/images/create",
                query("fromImage=busybox"),
                ok,
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=busybox%3A1.36"),
                ok,
            ),
            ("POST", "/images/create", query(&by_digest), ok),
            (
                "POST",
                "/images/create",
                query("fromImage=registry.example.com%2Fteam%2Fapp&tag=v1"),
                ok,
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=busybox&fromImage=alpine"),
                ok,
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=alpine&tag=latest"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=alpine&fromImage=busybox"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=evil.example.com/busybox"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromSrc=-&repo=busybox"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=busybox&fromSrc=-"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=busybox;tag=x"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=%zz"),
                Err(IMAGES),
            ),
            ("POST", "/images/create", PLAIN, Err(IMAGES)),
            ("POST", "/images/create", form, Err(IMAGES)),
        ],
    );
    let message = |q: &str| {
        verdict(&p, "POST", "/images/create", query(q))
            .denial
            .map(|d| d.message)
    };
    assert_eq!(
        message("fromSrc=-"),
        Some("importing an image (fromSrc) is not allowed for this client".into())
    );
    assert_eq!(
        message("fromImage=alpine&tag=3"),
        Some("pulling \"docker.io/library/alpine:3\" is not allowed for this client".into())
    );
    let latest = policy(
        r#"allow = ["POST /images/create"]
images = ["busybox:latest"]"#,
    );
    table(
        &latest,
        &[
            (
                "POST",
                "/images/create",
                query("fromImage=busybox"),
                Err(IMAGES),
            ),
            (
                "POST",
                "/images/create",
                query("fromImage=busybox&tag=latest"),
                ok,
            ),
        ],
    );
    let any = allowing(&["POST /images/create"]);
    table(
        &any,
        &[
            ("POST", "/images/create", query("fromImage=alpine"), ok),
            ("POST", "/images/create", query("fromSrc=-"), ok),
        ],
    );
}

#[test]
fn bodies_are_inspected_by_the_route_the_engine_runs() {
    let p = allowing(&["POST /**", "GET /**"]);
    let cases: &[(&str, &str, Option<BodyKind>)] = &[
        (
            "POST",
            "/containers/create",
            Some(BodyKind::ContainerCreate),
        ),
        (
            "POST",
            "/v1.41/containers/create",
            Some(BodyKind::ContainerCreate),
        ),
        (
            "POST",
            "/containers/x/update",
            Some(BodyKind::ContainerUpdate),
        ),
        ("POST", "/containers/x/exec", Some(BodyKind::ExecCreate)),
        ("POST", "/volumes/create", Some(BodyKind::VolumeCreate)),
        ("POST", "/containers/x/start", None),
        ("POST", "/networks/create", None),
        ("GET", "/containers/create", None),
    ];
    for (method, path, want) in cases {
        let v = verdict(&p, method, path, PLAIN);
        assert_eq!(v.denial, None, "{method} {path}");
        assert_eq!(v.inspect, *want, "{method} {path}");
    }
}

#[test]
fn body_denials_name_the_profile_key_and_field() {
    let p = policy(
        r#"allow = ["* /**"]
images = ["busybox"]
[profiles.p.containers]
bind_mounts = ["/srv/ci"]"#,
    );
    let denial = |rule: &str, field: Option<&str>, message: &str, unreadable: bool| Denial {
        rule: rule.into(),
        field: field.map(str::to_string),
        message: message.into(),
        unreadable,
    };
    let cases: Vec<(BodyKind, &str, Option<Denial>)> = vec![
        (BodyKind::ContainerCreate, r#"{"Image":"busybox"}"#, None),
        (
            BodyKind::ContainerCreate,
            r#"{"Image":"busybox","HostConfig":{"Binds":["/srv/ci/x:/x"]}}"#,
            None,
        ),
        (
            BodyKind::ContainerCreate,
            r#"{"Image":"busybox","HostConfig":{"Privileged":true}}"#,
            Some(denial(
                "profiles.p.containers.privileged",
                Some("HostConfig.Privileged"),
                "privileged containers are not allowed for this client",
                false,
            )),
        ),
        (
            BodyKind::ContainerCreate,
            r#"{"Image":"busybox","Binds":["/etc:/etc"]}"#,
            Some(denial(
                "profiles.p.containers.bind_mounts",
                Some("HostConfig.Binds"),
                "mounting the host path \"/etc\" is not allowed for this client",
                false,
            )),
        ),
        (
            BodyKind::ContainerCreate,
            r#"{"Image":"alpine"}"#,
            Some(denial(
                "profiles.p.images",
                Some("Image"),
                "the image \"docker.io/library/alpine:latest\" is not allowed for this client",
                false,
            )),
        ),
        (
            BodyKind::ExecCreate,
            r#"{"Privileged":true}"#,
            Some(denial(
                "profiles.p.containers.privileged",
                Some("Privileged"),
                "privileged exec sessions are not allowed for this client",
                false,
            )),
        ),
        (
            BodyKind::ContainerCreate,
            "[]",
            Some(denial(
                "profiles.p.containers",
                None,
                "the request body cannot be inspected: the body is an array, not a JSON object",
                true,
            )),
        ),
    ];
    let profile = p.profile("p").expect("profile p");
    for (kind, body, want) in &cases {
        assert_eq!(
            judge_body(profile, *kind, body.as_bytes()).err(),
            *want,
            "{kind:?} {body}"
        );
        assert_eq!(
            p.judge_body(&profile_p(), *kind, body.as_bytes()).err(),
            *want,
            "{kind:?} {body}"
        );
    }
    let privileged = br#"{"HostConfig":{"Privileged":true}}"#;
    for access in [Access::Full, Access::ReadOnly] {
        assert_eq!(
            p.judge_body(&access, BodyKind::ContainerCreate, privileged),
            Ok(Vec::new())
        );
    }
    assert_eq!(
        p.judge_body(
            &Access::Profile(Arc::from("gone")),
            BodyKind::ContainerCreate,
            b"{}"
        )
        .map_err(|d| d.rule),
        Err("allow".to_string())
    );
}

#[test]
fn report_mode_forwards_what_it_would_deny() {
    let p = policy(
        r#"allow = ["GET /containers/json", "POST /containers/create"]
mode = "report""#,
    );
    let v = verdict(&p, "GET", "/containers/json", PLAIN);
    assert_eq!(
        (v.decision, v.denial, v.report),
        (Decision::Allow(profile_p()), None, false)
    );
    let v = verdict(&p, "POST", "/containers/abc/kill", PLAIN);
    assert_eq!(v.decision, Decision::Allow(profile_p()));
    assert!(v.report);
    assert_eq!(v.denial.map(|d| d.rule), Some(ALLOW.to_string()));
    assert_eq!(v.entry, None);
    let v = verdict(&p, "POST", "/containers/x/attach", PLAIN);
    assert_eq!(
        (v.decision, v.report, v.denial.map(|d| d.rule)),
        (Decision::Allow(profile_p()), true, Some(HIJACK.to_string()))
    );
    let v = verdict(&p, "POST", "/containers/create", PLAIN);
    assert_eq!(v.inspect, Some(BodyKind::ContainerCreate));
    assert!(p.reports(&profile_p()));

    let privileged = br#"{"HostConfig":{"Privileged":true}}"#;
    let outcome = p.body_outcome(&profile_p(), BodyKind::ContainerCreate, privileged);
    let BodyOutcome::WouldDeny(d) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(d.rule, "profiles.p.containers.privileged");
    assert_eq!(
        p.body_outcome(&profile_p(), BodyKind::ContainerCreate, b"{}"),
        BodyOutcome::Pass(Vec::new())
    );
    // The named volumes a passing create mounts come with it, once each.
    assert_eq!(
        p.body_outcome(
            &profile_p(),
            BodyKind::ContainerCreate,
            br#"{"HostConfig":{"Binds":["cache:/c","/data","cache:/d:ro"],"Mounts":[{"Type":"volume","Source":"logs","Target":"/l"}]}}"#
        ),
        BodyOutcome::Pass(vec![
            crate::policy::target::Target::Volume("cache".into()),
            crate::policy::target::Target::Volume("logs".into()),
        ])
    );
    // Nobody can say what an unreadable body asks for: refused even in report mode.
    let outcome = p.body_outcome(&profile_p(), BodyKind::ContainerCreate, b"{} {}");
    assert!(
        matches!(&outcome, BodyOutcome::Deny(d) if d.unreadable),
        "{outcome:?}"
    );

    let enforcing = allowing(&["POST /containers/create"]);
    assert!(!enforcing.reports(&profile_p()));
    let outcome = enforcing.body_outcome(&profile_p(), BodyKind::ContainerCreate, privileged);
    assert!(
        matches!(&outcome, BodyOutcome::Deny(d) if d.rule == "profiles.p.containers.privileged"),
        "{outcome:?}"
    );
}

#[test]
fn route_text_is_the_engine_route_in_pattern_syntax() {
    let p = allowing(&["GET /_ping"]);
    let cases: &[(&str, &str, &str)] = &[
        (
            "POST",
            "/v1.41/containers/abc/start",
            "POST /containers/{id}/start",
        ),
        (
            "POST",
            "/containers/a/b/start",
            "POST /containers/{id}/start",
        ),
        (
            "GET",
            "/images/registry:5000/a/b:tag/json",
            "GET /images/{name}/json",
        ),
        ("POST", "/containers/create", "POST /containers/create"),
        (
            "DELETE",
            "/containers/x/checkpoints/y",
            "DELETE /containers/{id}/checkpoints/{id}",
        ),
        ("POST", "/exec/x/start", "POST /exec/{id}/start"),
        ("GET", "/_ping", "GET /_ping"),
        ("GET", "/no/such/route", ""),
    ];
    for (method, path, want) in cases {
        assert_eq!(
            verdict(&p, method, path, PLAIN).route_text(),
            *want,
            "{method} {path}"
        );
    }
}

#[test]
fn unknown_clients_and_missing_profiles() {
    let p = allowing(&["* /**"]);
    let m = Method::GET;
    let req = RequestView::simple(&m, "/_ping", false);
    let v = p.judge(&who("stranger"), &req);
    assert_eq!(
        (v.decision, v.denial, v.entry),
        (Decision::UnknownClient, None, None)
    );

    let config = Config::from_toml(
        "[tls]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n[[allow]]\ncn = \"c\"\naccess = \"p\"\n[profiles.p]\nallow = [\"* /**\"]\n",
        Path::new("/etc/dockgate/dockgate.toml"),
    )
    .unwrap();
    let without = Policy::new(&config.allow, &[]);
    let v = without.judge(&who("c"), &req);
    assert_eq!(v.decision, Decision::Forbidden(profile_p()));
    assert_eq!(v.denial.map(|d| d.rule), Some("allow".to_string()));
}

fn warnings_for(profile: &str) -> Vec<String> {
    let p = policy(profile);
    let w = warnings(p.profile("p").expect("profile p"));
    assert_eq!(p.warnings(), w);
    w
}

#[test]
fn warnings_name_power_routes() {
    let table: &[(&str, &[&str])] = &[
        (r#"allow = ["read-only"]"#, &[]),
        (
            r#"allow = ["GET /containers/json", "POST /containers/create", "POST /containers/{id}/start"]"#,
            &[],
        ),
        (
            r#"allow = ["POST /build"]"#,
            &["profiles.p: allows POST /build: builds can use host networking and BuildKit entitlements, which no body rule sees"],
        ),
        (
            r#"allow = ["POST /session", "POST /grpc"]"#,
            &[
                "profiles.p: allows POST /session: a BuildKit session serves the client's files and secrets to builds",
                "profiles.p: allows POST /grpc: BuildKit's API, unchecked",
            ],
        ),
        (
            r#"allow = ["POST /volumes/create"]"#,
            &["profiles.p: allows POST /volumes/create: checked: a local volume's bind options are held to containers.bind_mounts"],
        ),
        (
            r#"allow = ["POST /containers/{id}/update"]"#,
            &["profiles.p: allows POST /containers/{id}/update: checked: its device fields are held to containers.devices"],
        ),
        (
            r#"allow = ["POST /exec/{id}/start"]"#,
            &["profiles.p: allows POST /exec/{id}/start: checked: the exec's own privilege and its container's settings, as the engine describes them"],
        ),
        (
            r#"allow = ["* /services/**"]"#,
            &[
                "profiles.p: allows POST /services/create: service specs can bind-mount host paths and add capabilities, unchecked",
                "profiles.p: allows POST /services/{id}/update: service specs can bind-mount host paths and add capabilities, unchecked",
                "profiles.p: allows DELETE /services/{id}: services of the whole swarm, unchecked",
            ],
        ),
        // Literal names reach the routes as surely as variables.
        (
            r#"allow = ["POST /services/web/update", "POST /plugins/sshfs/set", "GET /images/app/get"]"#,
            &[
                "profiles.p: allows POST /plugins/{name}/set: plugin settings can mount host paths and devices",
                "profiles.p: allows POST /services/{id}/update: service specs can bind-mount host paths and add capabilities, unchecked",
                "profiles.p: allows reads that read-only leaves out on purpose (file system, image and debug data, or the engine contacting other hosts): GET /images/{name}/get",
            ],
        ),
        (
            r#"allow = ["POST /images/{name}/push", "POST /auth", "POST /networks/create"]"#,
            &[
                "profiles.p: allows POST /images/{name}/push: the engine uploads any local image, with its files, to a registry the client names",
                "profiles.p: allows POST /auth: the engine logs in to a registry the client names",
                "profiles.p: allows POST /networks/create: macvlan, ipvlan and bridge options can put containers on the host's own networks, unchecked",
            ],
        ),
        (
            r#"allow = ["POST /images/create"]"#,
            &["profiles.p: allows POST /images/create: without `images`, any image can be pulled, and an import (fromSrc) makes the engine fetch any URL the client names"],
        ),
        (
            r#"allow = ["POST /images/create"]
images = ["busybox"]"#,
            &[],
        ),
        // Writable binds: a planted link reaches any host path at the next mount.
        (
            r#"allow = ["POST /containers/create"]
[profiles.p.containers]
bind_mounts = ["/srv/ci", "/srv/cache"]"#,
            &["profiles.p: containers may bind /srv/ci, /srv/cache writable: a client can plant a symbolic link there, and the engine follows it each time it mounts (every start, the restarts of a restart policy included), so any host path is within its reach; set read_only_binds = true to prevent it"],
        ),
        (
            r#"allow = ["POST /containers/create"]
[profiles.p.containers]
bind_mounts = ["/srv/ci"]
read_only_binds = true"#,
            &[],
        ),
        (
            r#"allow = ["read-only"]
[profiles.p.containers]
bind_mounts = ["/srv/ci"]"#,
            &[],
        ),
        (
            r#"allow = ["POST /containers/create"]
images = []"#,
            &["profiles.p: `images` is empty: every pull and every container create is refused"],
        ),
        (
            r#"allow = ["POST /images/load", "POST /images/{name}/tag", "POST /commit"]
images = ["busybox"]"#,
            &[
                "profiles.p: allows POST /images/load while `images` is set: it can give any content an allowed image name",
                "profiles.p: allows POST /images/{name}/tag while `images` is set: it can give any content an allowed image name",
                "profiles.p: allows POST /commit while `images` is set: it can give any content an allowed image name",
            ],
        ),
        (r#"allow = ["POST /images/load", "POST /images/{name}/tag", "POST /commit"]"#, &[]),
    ];
    for (profile, want) in table {
        assert_eq!(warnings_for(profile), *want, "{profile}");
    }
}

/// The routes named in a profile's warnings: `METHOD /pattern` after "allows ".
fn warned_routes(w: &[String]) -> Vec<String> {
    w.iter()
        .filter(|w| !w.contains("read-only leaves out"))
        .filter_map(|w| w.split_once(": allows "))
        .filter_map(|(_, rest)| rest.split_once(':'))
        .map(|(route, _)| route.trim_end_matches(" while `images` is set").to_string())
        .collect()
}

#[test]
fn wildcards_are_warned_about_route_by_route() {
    let table: &[(&str, &[&str], &[&str])] = &[
        (
            r#"allow = ["* /plugins/**"]"#,
            &[
                "POST /plugins/pull",
                "POST /plugins/create",
                "POST /plugins/{name}/enable",
                "POST /plugins/{name}/set",
                "POST /plugins/{name}/upgrade",
                "POST /plugins/{name}/disable",
                "DELETE /plugins/{name}",
                "POST /plugins/{name}/push",
            ],
            &[
                "GET /plugins",
                "GET /plugins/{name}/json",
                "GET /plugins/privileges",
            ],
        ),
        (
            r#"allow = ["* /swarm/**"]"#,
            &[
                "POST /swarm/init",
                "POST /swarm/join",
                "POST /swarm/leave",
                "GET /swarm",
                "GET /swarm/unlockkey",
                "POST /swarm/update",
                "POST /swarm/unlock",
            ],
            &[],
        ),
        (
            r#"allow = ["* /secrets/**", "* /configs/**"]"#,
            &[
                "POST /secrets/create",
                "GET /secrets/{id}",
                "POST /secrets/{id}/update",
                "DELETE /secrets/{id}",
                "POST /configs/create",
                "GET /configs/{id}",
                "POST /configs/{id}/update",
                "DELETE /configs/{id}",
            ],
            &["GET /secrets", "GET /configs"],
        ),
        (
            r#"allow = ["GET,HEAD /**"]"#,
            &[
                "GET /swarm",
                "GET /swarm/unlockkey",
                "GET /secrets/{id}",
                "GET /configs/{id}",
            ],
            &[
                "GET /containers/{id}/checkpoints",
                "HEAD /containers/{id}/archive",
                "GET /containers/{id}/export",
                "GET /containers/{id}/attach/ws",
                "GET /containers/{id}/archive",
                "GET /images/search",
                "GET /images/get",
                "GET /images/{name}/get",
                "GET /images/{name}/attestations",
                "GET /secrets",
                "GET /configs",
                "GET /plugins",
                "GET /plugins/{name}/json",
                "GET /plugins/privileges",
                "GET /distribution/{name}/json",
                "GET /debug/vars",
                "GET /debug/pprof/cmdline",
                "GET /debug/pprof/profile",
                "GET /debug/pprof/symbol",
                "GET /debug/pprof/trace",
                "GET /debug/pprof/{id}",
            ],
        ),
    ];
    for (profile, power, reads) in table {
        let w = warnings_for(profile);
        assert_eq!(warned_routes(&w), *power, "{profile}: {w:#?}");
        let extra: Vec<&String> = w
            .iter()
            .filter(|w| w.contains("read-only leaves out"))
            .collect();
        if reads.is_empty() {
            assert!(extra.is_empty(), "{profile}: {extra:#?}");
            assert_eq!(w.len(), power.len(), "{profile}: {w:#?}");
        } else {
            assert_eq!(extra.len(), 1, "{profile}: {w:#?}");
            let listed = extra[0].rsplit_once(": ").expect("a list").1;
            assert_eq!(listed, reads.join(", "), "{profile}");
            assert_eq!(w.len(), power.len() + 1, "{profile}: {w:#?}");
        }
    }
    // Everything: every power route, pulls without `images`, and the extra reads.
    let all = warnings_for(r#"allow = ["* /**"]"#);
    assert_eq!(all.len(), POWER.len() + 2, "{all:#?}");
    for route in [
        "POST /build",
        "POST /session",
        "POST /grpc",
        "POST /plugins/pull",
        "POST /swarm/init",
        "POST /services/create",
        "POST /secrets/create",
        "POST /configs/create",
        "POST /volumes/create",
        "POST /containers/{id}/update",
        "POST /exec/{id}/start",
    ] {
        assert!(warned_routes(&all).iter().any(|r| r == route), "{route}");
    }
}

#[test]
fn every_power_route_exists() {
    for (name, why) in POWER {
        assert!(crate::policy::routes::by_name(name).is_some(), "{name}");
        assert!(!why.is_empty(), "{name}");
    }
}

//! Table tests for the route table and for dispatching like moby's mux.

use http::Method;

use super::{by_name, dispatch, var_kind, Var, ROUTES};

#[test]
fn every_pattern_is_well_formed_and_every_name_unique() {
    for route in ROUTES {
        assert!(route.pattern.starts_with('/'), "{}", route.name);
        let mut rest = route.pattern;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .unwrap_or_else(|| panic!("{}: unclosed variable", route.name));
            let body = &rest[open + 1..open + close];
            assert!(
                var_kind(body).is_some(),
                "{}: variable `{body}` is not a kind the matcher knows",
                route.name
            );
            rest = &rest[open + close + 1..];
        }
        assert!(!rest.contains('}'), "{}", route.name);
        assert_eq!(
            by_name(route.name),
            Some(route),
            "{} is not unique",
            route.name
        );
    }
    assert_eq!(ROUTES.len(), 122, "moby registers 122 routes");
}

#[test]
fn variable_kinds_are_those_of_gorilla_mux() {
    assert_eq!(var_kind("id"), Some(Var::Segment));
    assert_eq!(var_kind("name:.*"), Some(Var::Any));
    assert_eq!(var_kind("id:.+"), Some(Var::AnyNonEmpty));
    assert_eq!(var_kind(""), None);
    assert_eq!(var_kind(":.*"), None);
    assert_eq!(var_kind("v:[0-9.]+"), None);
}

#[test]
fn every_route_answers_its_example_path_with_and_without_version() {
    for route in ROUTES {
        let path = route.example_path();
        for p in [
            path.clone(),
            format!("/v1.41{path}"),
            format!("/v1.48{path}"),
        ] {
            assert_eq!(
                dispatch(&route.method, &p).map(|r| r.name),
                Some(route.name),
                "{} {p}",
                route.method
            );
        }
    }
}

/// Paths whose route is not what they look like, and paths moby answers 404.
#[test]
fn dispatch_like_the_engine() {
    let table: &[(Method, &str, Option<&str>)] = &[
        // `{name:.*}` spans slashes: the last words decide.
        (
            Method::GET,
            "/containers/x/export/json",
            Some("ContainerInspect"),
        ),
        (
            Method::GET,
            "/containers/x/json/export",
            Some("ContainerExport"),
        ),
        (Method::GET, "/containers/a/b/c/logs", Some("ContainerLogs")),
        (
            Method::GET,
            "/containers/x/json/attach/ws",
            Some("ContainerAttachWebsocket"),
        ),
        (
            Method::GET,
            "/containers/x/attach/ws/json",
            Some("ContainerInspect"),
        ),
        (
            Method::GET,
            "/containers/x/archive/json",
            Some("ContainerInspect"),
        ),
        (
            Method::GET,
            "/containers/x/checkpoints",
            Some("CheckpointList"),
        ),
        (Method::GET, "/containers/json", Some("ContainerList")),
        (
            Method::GET,
            "/containers/json/json",
            Some("ContainerInspect"),
        ),
        (
            Method::HEAD,
            "/containers/x/archive",
            Some("ContainerArchiveInfo"),
        ),
        (
            Method::HEAD,
            "/containers/x/json/archive",
            Some("ContainerArchiveInfo"),
        ),
        (Method::GET, "/exec/x/json", Some("ExecInspect")),
        (Method::GET, "/exec/x/start/json", Some("ExecInspect")),
        (Method::POST, "/exec/x/json/start", Some("ExecStart")),
        (Method::GET, "/images/get", Some("ImageGetAll")),
        (Method::GET, "/images/get/json", Some("ImageInspect")),
        (Method::GET, "/images/x/get/json", Some("ImageInspect")),
        (Method::GET, "/images/x/json/get", Some("ImageGet")),
        (
            Method::GET,
            "/images/registry:5000/team/app/get",
            Some("ImageGet"),
        ),
        (
            Method::GET,
            "/images/registry:5000/team/app/json",
            Some("ImageInspect"),
        ),
        (Method::GET, "/images/search", Some("ImageSearch")),
        (Method::GET, "/images/search/json", Some("ImageInspect")),
        (Method::GET, "/images/json", Some("ImageList")),
        (Method::GET, "/networks/a/b", Some("NetworkInspect")),
        (Method::GET, "/networks/create", Some("NetworkInspect")),
        (Method::GET, "/volumes/a/b", Some("VolumeInspect")),
        (Method::GET, "/volumes/create", Some("VolumeInspect")),
        (
            Method::GET,
            "/plugins/privileges",
            Some("GetPluginPrivileges"),
        ),
        (
            Method::GET,
            "/plugins/privileges/json",
            Some("PluginInspect"),
        ),
        (
            Method::GET,
            "/distribution/registry:5000/x/y/json",
            Some("DistributionInspect"),
        ),
        (
            Method::GET,
            "/v1.48/debug/pprof/cmdline",
            Some("DebugPprofCmdline"),
        ),
        (Method::GET, "/debug/pprof/heap", Some("DebugPprofNamed")),
        (Method::GET, "/v1.41/debug/vars", Some("DebugVars")),
        (Method::GET, "/services/create", Some("ServiceInspect")),
        (Method::GET, "/services/x/logs", Some("ServiceLogs")),
        (
            Method::DELETE,
            "/containers/x/checkpoints/y",
            Some("CheckpointDelete"),
        ),
        (
            Method::DELETE,
            "/containers/x/y/checkpoints/z",
            Some("ContainerDelete"),
        ),
        (Method::OPTIONS, "/anything/at/all", Some("SystemOptions")),
        (Method::OPTIONS, "/v1.41", Some("SystemOptions")),
        (Method::HEAD, "/_ping", Some("SystemPingHead")),
        (Method::GET, "/v1.41/_ping", Some("SystemPing")),
        // Methods are exact: a GET route does not answer HEAD.
        (Method::HEAD, "/containers/json", None),
        (Method::HEAD, "/version", None),
        (Method::HEAD, "/containers/x/json", None),
        (Method::PATCH, "/containers/x/json", None),
        (
            Method::from_bytes(b"get").expect("method"),
            "/containers/json",
            None,
        ),
        // `{id}` is one segment.
        (Method::GET, "/services/a/b", None),
        (Method::GET, "/nodes/a/b", None),
        (Method::GET, "/debug/pprof/a/b", None),
        (Method::GET, "/secrets/a/b", None),
        // No route.
        (Method::GET, "/", None),
        (Method::GET, "/v1.41", None),
        (Method::GET, "/containers/x", None),
        (Method::GET, "/containers/create", None),
        (Method::GET, "/v/containers/json", None),
        (Method::GET, "/vx/containers/json", None),
        (Method::GET, "/v1.41/v1.41/containers/json", None),
        (Method::GET, "/v1.41containers/json", None),
        (Method::GET, "/containersjson", None),
        (Method::GET, "/_ping/x", None),
        (Method::GET, "/swarm/x", None),
    ];
    for (method, path, want) in table {
        assert_eq!(
            dispatch(method, path).map(|r| r.name),
            *want,
            "{method} {path}"
        );
    }
}

#[test]
fn a_long_name_with_many_slashes_dispatches() {
    let name = "a/".repeat(40_000);
    let path = format!("/containers/{name}x/json");
    assert_eq!(
        dispatch(&Method::GET, &path).map(|r| r.name),
        Some("ContainerInspect")
    );
    assert_eq!(dispatch(&Method::GET, &format!("{path}x")), None);
}

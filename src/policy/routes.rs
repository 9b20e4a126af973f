//! The Docker Engine's route table, and which route the engine would dispatch a request to.
//!
//! Policy must judge a request by the handler the engine will run, not by how its path looks:
//! container and image names are `{name:.*}` in moby's routes, so they may contain slashes, and
//! `/containers/x/export/json` is the inspect of a container named `x/export` while
//! `/containers/x/json/export` is the export of `x/json`. [`ROUTES`] copies moby's routers in the
//! order the daemon registers them (`daemon/command/daemon.go` `buildRouters`, moby commit
//! b985e23 of 2026-08), and [`dispatch`] answers what moby's mux (gorilla/mux 1.8,
//! `daemon/server/server.go` `CreateMux`) would answer:
//! - each route is registered twice, as `/v{version:[0-9.]+}` + pattern and as the bare pattern;
//! - the first route whose path and method both match wins (a path match with the wrong method
//!   does not stop the search);
//! - methods are exact: a `GET` route does not answer `HEAD`;
//! - `{name}` matches one segment (`[^/]+`), `{name:.*}` any text including slashes and nothing,
//!   `{name:.+}` any text including slashes but not nothing;
//! - no match is moby's 404 "page not found": [`dispatch`] returns `None`.
//!
//! Older engines differ only where no read-only route is concerned (checked against v20.10.24,
//! v23.0, v24.0, v25.0, v26.1, v27.5, v28.5): they lack `ImageAttestations` (and before v23
//! `VolumeUpdate`), up to v25 they have `POST /containers/{name:.*}/copy`, and before v28 the
//! `/debug/*` routes were mounted after all others, unversioned only, for any method.
//!
//! The path given to [`dispatch`] is the canonical, percent-decoded one from
//! [`super::path::canonical`]: the mux matches the decoded path, and paths a router could read
//! two ways (`.`, `..`, `//`, a trailing `/`) are refused before they get here, which makes
//! `NetworkListTrailingSlash` and `DebugPprofIndex` unreachable through the gateway. Route names
//! are the `operationId`s of the Engine API's `api/swagger.yaml` where it has one, and names in
//! the same style where it does not (checkpoints, OPTIONS, `/build/cancel`, `/grpc`,
//! `/debug/*`); they are stable, so access profiles can name routes.

use http::Method;

/// One route of the engine's API.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// moby's path template, without the version prefix.
    pub pattern: &'static str,
    /// A stable name: the Engine API's `operationId`, or one in its style.
    pub name: &'static str,
}

impl Route {
    /// The route in pattern syntax, `METHOD /pattern`, as `allow` entries and the audit
    /// `route` field write it: `POST /containers/{id}/start`.
    pub fn text(&self) -> String {
        format!(
            "{} {}",
            self.method,
            super::pattern::route_pattern(self.pattern)
        )
    }
}

/// The route whose [`Route::text`] is `text`.
pub fn by_text(text: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.text() == text)
}

impl Route {
    /// A concrete path this route answers, each variable replaced by `x` (for tests and
    /// diagnostics; a route masked by an earlier one for that path would not answer it).
    pub fn example_path(&self) -> String {
        let mut out = String::with_capacity(self.pattern.len());
        let mut rest = self.pattern;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            out.push('x');
            rest = rest[open..]
                .find('}')
                .map_or("", |close| &rest[open + close + 1..]);
        }
        out.push_str(rest);
        out
    }
}

const fn route(method: Method, pattern: &'static str, name: &'static str) -> Route {
    Route {
        method,
        pattern,
        name,
    }
}

const GET: Method = Method::GET;
const HEAD: Method = Method::HEAD;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const DELETE: Method = Method::DELETE;
const OPTIONS: Method = Method::OPTIONS;

/// moby's routes in registration order: the first that matches is the one the engine runs.
pub static ROUTES: &[Route] = &[
    // checkpoint (experimental; registered first so its DELETE is not masked by the container's)
    route(GET, "/containers/{name:.*}/checkpoints", "CheckpointList"),
    route(
        POST,
        "/containers/{name:.*}/checkpoints",
        "CheckpointCreate",
    ),
    route(
        DELETE,
        "/containers/{name}/checkpoints/{checkpoint}",
        "CheckpointDelete",
    ),
    // container
    route(
        HEAD,
        "/containers/{name:.*}/archive",
        "ContainerArchiveInfo",
    ),
    route(GET, "/containers/json", "ContainerList"),
    route(GET, "/containers/{name:.*}/export", "ContainerExport"),
    route(GET, "/containers/{name:.*}/changes", "ContainerChanges"),
    route(GET, "/containers/{name:.*}/json", "ContainerInspect"),
    route(GET, "/containers/{name:.*}/top", "ContainerTop"),
    route(GET, "/containers/{name:.*}/logs", "ContainerLogs"),
    route(GET, "/containers/{name:.*}/stats", "ContainerStats"),
    route(
        GET,
        "/containers/{name:.*}/attach/ws",
        "ContainerAttachWebsocket",
    ),
    route(GET, "/exec/{id:.*}/json", "ExecInspect"),
    route(GET, "/containers/{name:.*}/archive", "ContainerArchive"),
    route(POST, "/containers/create", "ContainerCreate"),
    route(POST, "/containers/{name:.*}/kill", "ContainerKill"),
    route(POST, "/containers/{name:.*}/pause", "ContainerPause"),
    route(POST, "/containers/{name:.*}/unpause", "ContainerUnpause"),
    route(POST, "/containers/{name:.*}/restart", "ContainerRestart"),
    route(POST, "/containers/{name:.*}/start", "ContainerStart"),
    route(POST, "/containers/{name:.*}/stop", "ContainerStop"),
    route(POST, "/containers/{name:.*}/wait", "ContainerWait"),
    route(POST, "/containers/{name:.*}/resize", "ContainerResize"),
    route(POST, "/containers/{name:.*}/attach", "ContainerAttach"),
    route(POST, "/containers/{name:.*}/exec", "ContainerExec"),
    route(POST, "/exec/{name:.*}/start", "ExecStart"),
    route(POST, "/exec/{name:.*}/resize", "ExecResize"),
    route(POST, "/containers/{name:.*}/rename", "ContainerRename"),
    route(POST, "/containers/{name:.*}/update", "ContainerUpdate"),
    route(POST, "/containers/prune", "ContainerPrune"),
    route(POST, "/commit", "ImageCommit"),
    route(PUT, "/containers/{name:.*}/archive", "PutContainerArchive"),
    route(DELETE, "/containers/{name:.*}", "ContainerDelete"),
    // image
    route(GET, "/images/json", "ImageList"),
    route(GET, "/images/search", "ImageSearch"),
    route(GET, "/images/get", "ImageGetAll"),
    route(GET, "/images/{name:.*}/get", "ImageGet"),
    route(GET, "/images/{name:.*}/history", "ImageHistory"),
    route(GET, "/images/{name:.*}/json", "ImageInspect"),
    route(GET, "/images/{name:.*}/attestations", "ImageAttestations"),
    route(POST, "/images/load", "ImageLoad"),
    route(POST, "/images/create", "ImageCreate"),
    route(POST, "/images/{name:.*}/push", "ImagePush"),
    route(POST, "/images/{name:.*}/tag", "ImageTag"),
    route(POST, "/images/prune", "ImagePrune"),
    route(DELETE, "/images/{name:.*}", "ImageDelete"),
    // system
    route(OPTIONS, "/{anyroute:.*}", "SystemOptions"),
    route(GET, "/_ping", "SystemPing"),
    route(HEAD, "/_ping", "SystemPingHead"),
    route(GET, "/events", "SystemEvents"),
    route(GET, "/info", "SystemInfo"),
    route(GET, "/version", "SystemVersion"),
    route(GET, "/system/df", "SystemDataUsage"),
    route(POST, "/auth", "SystemAuth"),
    // volume
    route(GET, "/volumes", "VolumeList"),
    route(GET, "/volumes/{name:.*}", "VolumeInspect"),
    route(POST, "/volumes/create", "VolumeCreate"),
    route(POST, "/volumes/prune", "VolumePrune"),
    route(PUT, "/volumes/{name:.*}", "VolumeUpdate"),
    route(DELETE, "/volumes/{name:.*}", "VolumeDelete"),
    // build
    route(POST, "/build", "ImageBuild"),
    route(POST, "/build/prune", "BuildPrune"),
    route(POST, "/build/cancel", "BuildCancel"),
    // session (BuildKit, `Upgrade: h2c`)
    route(POST, "/session", "Session"),
    // swarm
    route(POST, "/swarm/init", "SwarmInit"),
    route(POST, "/swarm/join", "SwarmJoin"),
    route(POST, "/swarm/leave", "SwarmLeave"),
    route(GET, "/swarm", "SwarmInspect"),
    route(GET, "/swarm/unlockkey", "SwarmUnlockkey"),
    route(POST, "/swarm/update", "SwarmUpdate"),
    route(POST, "/swarm/unlock", "SwarmUnlock"),
    route(GET, "/services", "ServiceList"),
    route(GET, "/services/{id}", "ServiceInspect"),
    route(POST, "/services/create", "ServiceCreate"),
    route(POST, "/services/{id}/update", "ServiceUpdate"),
    route(DELETE, "/services/{id}", "ServiceDelete"),
    route(GET, "/services/{id}/logs", "ServiceLogs"),
    route(GET, "/nodes", "NodeList"),
    route(GET, "/nodes/{id}", "NodeInspect"),
    route(DELETE, "/nodes/{id}", "NodeDelete"),
    route(POST, "/nodes/{id}/update", "NodeUpdate"),
    route(GET, "/tasks", "TaskList"),
    route(GET, "/tasks/{id}", "TaskInspect"),
    route(GET, "/tasks/{id}/logs", "TaskLogs"),
    route(GET, "/secrets", "SecretList"),
    route(POST, "/secrets/create", "SecretCreate"),
    route(DELETE, "/secrets/{id}", "SecretDelete"),
    route(GET, "/secrets/{id}", "SecretInspect"),
    route(POST, "/secrets/{id}/update", "SecretUpdate"),
    route(GET, "/configs", "ConfigList"),
    route(POST, "/configs/create", "ConfigCreate"),
    route(DELETE, "/configs/{id}", "ConfigDelete"),
    route(GET, "/configs/{id}", "ConfigInspect"),
    route(POST, "/configs/{id}/update", "ConfigUpdate"),
    // plugin
    route(GET, "/plugins", "PluginList"),
    route(GET, "/plugins/{name:.*}/json", "PluginInspect"),
    route(GET, "/plugins/privileges", "GetPluginPrivileges"),
    route(DELETE, "/plugins/{name:.*}", "PluginDelete"),
    route(POST, "/plugins/{name:.*}/enable", "PluginEnable"),
    route(POST, "/plugins/{name:.*}/disable", "PluginDisable"),
    route(POST, "/plugins/pull", "PluginPull"),
    route(POST, "/plugins/{name:.*}/push", "PluginPush"),
    route(POST, "/plugins/{name:.*}/upgrade", "PluginUpgrade"),
    route(POST, "/plugins/{name:.*}/set", "PluginSet"),
    route(POST, "/plugins/create", "PluginCreate"),
    // distribution
    route(GET, "/distribution/{name:.*}/json", "DistributionInspect"),
    // network
    route(GET, "/networks", "NetworkList"),
    route(GET, "/networks/", "NetworkListTrailingSlash"),
    route(GET, "/networks/{id:.+}", "NetworkInspect"),
    route(POST, "/networks/create", "NetworkCreate"),
    route(POST, "/networks/{id:.*}/connect", "NetworkConnect"),
    route(POST, "/networks/{id:.*}/disconnect", "NetworkDisconnect"),
    route(POST, "/networks/prune", "NetworkPrune"),
    route(DELETE, "/networks/{id:.*}", "NetworkDelete"),
    // debug (always on; also under the version prefix since API 1.48)
    route(GET, "/debug/vars", "DebugVars"),
    route(GET, "/debug/pprof/", "DebugPprofIndex"),
    route(GET, "/debug/pprof/cmdline", "DebugPprofCmdline"),
    route(GET, "/debug/pprof/profile", "DebugPprofProfile"),
    route(GET, "/debug/pprof/symbol", "DebugPprofSymbol"),
    route(GET, "/debug/pprof/trace", "DebugPprofTrace"),
    route(GET, "/debug/pprof/{name}", "DebugPprofNamed"),
    // grpc (BuildKit, `Upgrade: h2c`; registered when the daemon has a builder, which it has)
    route(POST, "/grpc", "Grpc"),
];

/// The route the engine would run for `method` on the canonical `path` (version prefix
/// included or not), or `None` where the engine answers 404.
pub fn dispatch(method: &Method, path: &str) -> Option<&'static Route> {
    let unversioned = without_version(path);
    ROUTES.iter().find(|r| {
        r.method == *method
            && (matches(r.pattern, path) || unversioned.is_some_and(|p| matches(r.pattern, p)))
    })
}

/// The route named `name`.
pub fn by_name(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// The API version a path names (`/v1.41/...` → `1.41`), if any.
pub fn api_version(path: &str) -> Option<&str> {
    let rest = without_version(path)?;
    Some(&path[2..path.len() - rest.len()])
}

/// `path` without its version prefix, if it has one.
pub fn unversioned(path: &str) -> &str {
    without_version(path).unwrap_or(path)
}

/// What follows moby's `/v{version:[0-9.]+}` prefix, if `path` has one followed by a path. The
/// version cannot hold a `/` and every pattern starts with one, so the split is unambiguous.
fn without_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/')?;
    let version = &rest[..end];
    (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then_some(&rest[end..])
}

/// How much text a `{...}` variable of a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    /// `{name}`: `[^/]+`.
    Segment,
    /// `{name:.*}`: anything, nothing included.
    Any,
    /// `{name:.+}`: anything but nothing.
    AnyNonEmpty,
}

/// The variable kind of a `{...}` body, or `None` for a pattern this matcher does not know, which
/// then matches nothing (the tests check that every pattern in [`ROUTES`] is known).
pub(crate) fn var_kind(body: &str) -> Option<Var> {
    match body.split_once(':') {
        None if !body.is_empty() => Some(Var::Segment),
        Some((name, ".*")) if !name.is_empty() => Some(Var::Any),
        Some((name, ".+")) if !name.is_empty() => Some(Var::AnyNonEmpty),
        _ => None,
    }
}

/// Whether the whole of `path` matches `pattern`, gorilla/mux style (anchored at both ends; Go's
/// `.` excludes only `\n`, which a canonical path cannot hold).
fn matches(pattern: &str, path: &str) -> bool {
    let Some(open) = pattern.find('{') else {
        return pattern == path;
    };
    let (literal, rest) = pattern.split_at(open);
    let Some(path) = path.strip_prefix(literal) else {
        return false;
    };
    let Some(close) = rest.find('}') else {
        return false;
    };
    let Some(kind) = var_kind(&rest[1..close]) else {
        return false;
    };
    let tail = &rest[close + 1..];
    let limit = match kind {
        Var::Segment => path.find('/').unwrap_or(path.len()),
        Var::Any | Var::AnyNonEmpty => path.len(),
    };
    let first = match kind {
        Var::Any => 0,
        Var::Segment | Var::AnyNonEmpty => 1,
    };
    (first..=limit)
        .filter(|&end| path.is_char_boundary(end))
        .any(|end| matches(tail, &path[end..]))
}

#[cfg(test)]
mod tests;

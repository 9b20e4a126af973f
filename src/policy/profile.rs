//! One profile's decision on a request head and body, and the warnings its `allow` list earns
//! when the configuration loads.
//!
//! The head is judged in this order: an API version below 1.24 (whose `start` took a host
//! config) is refused; a hijack (any `Upgrade`, and attach, exec start and BuildKit routes
//! without one) needs `hijack = true`; then the first `allow` entry that matches decides, and no
//! match is a refusal. An allowed `start` must have no body, and an allowed pull must name an
//! image of `images` (when set). Which body is inspected follows the engine route, not the
//! entry: `POST /**` still has its container creates inspected.

use super::body::{self, BodyKind, Refusal};
use super::routes::{self, Route};
use super::{image, pattern, query, read_only, Denial, RequestView};
use crate::config::{AllowEntry, Profile};

/// The oldest API version a profile accepts: below it, `POST /containers/{id}/start` took a
/// host config, which no body rule sees.
pub const MIN_API_VERSION: &str = "1.24";

/// Engine routes that hijack the connection even without `Upgrade`.
const HIJACK_ROUTES: [&str; 5] = [
    "ContainerAttach",
    "ContainerAttachWebsocket",
    "ExecStart",
    "Session",
    "Grpc",
];

/// Whether `route` hijacks the connection (attach with or without `Upgrade`, exec start, BuildKit
/// sessions): allowed only with `hijack = true`.
pub fn is_hijack(route: &Route) -> bool {
    HIJACK_ROUTES.contains(&route.name)
}

/// The head verdict: the denial, if any, and the entry that allowed the request.
pub fn judge(
    p: &Profile,
    req: &RequestView<'_>,
    route: Option<&Route>,
) -> (Option<Denial>, Option<String>) {
    let key = |k: &str| format!("profiles.{}.{k}", p.name);
    let deny = |rule: String, message: String| {
        (
            Some(Denial {
                rule,
                field: None,
                message,
                unreadable: false,
            }),
            None,
        )
    };
    if let Some(v) = routes::api_version(req.path) {
        if version_less(v, MIN_API_VERSION) {
            return deny(
                key("allow"),
                format!("API version {v} is older than {MIN_API_VERSION}, which this client must use at least"),
            );
        }
    }
    let hijack = req.upgrade || route.is_some_and(is_hijack);
    if hijack && !p.hijack {
        return deny(
            key("hijack"),
            "attach, exec and other hijacked streams are not allowed for this client".into(),
        );
    }
    let bare = routes::unversioned(req.path);
    let entry = p.allow.iter().find(|e| match e {
        AllowEntry::ReadOnly => read_only::allows(req),
        AllowEntry::Route(r) => pattern::matches(r, req.method, bare),
    });
    let Some(entry) = entry else {
        return deny(
            key("allow"),
            format!("{} {} is not allowed for this client", req.method, bare),
        );
    };
    let entry_text = match entry {
        AllowEntry::ReadOnly => "read-only".to_string(),
        AllowEntry::Route(r) => r.text.clone(),
    };
    let name = route.map(|r| r.name).unwrap_or("");
    if name == "ContainerStart" && req.has_body {
        return deny(
            key("allow"),
            "starting a container with a body (a host config, API < 1.24) is not allowed for this client".into(),
        );
    }
    if name == "ImageCreate" {
        if let Some(patterns) = &p.images {
            if let Err(message) = pull(req, patterns) {
                return deny(key("images"), message);
            }
        }
    }
    (None, Some(entry_text))
}

fn pull(req: &RequestView<'_>, patterns: &[crate::config::ImagePattern]) -> Result<(), String> {
    // The engine reads a pull's parameters from a form body too, before the query's, and Go
    // takes a body as a form on a Content-Type it lower-cases with Unicode rules and whose
    // parameters may be broken: no body at all is the one safe reading. No client sends one.
    if req.has_body {
        return Err("pulling with a request body is not allowed for this client".into());
    }
    let q = query::parse(req.query.unwrap_or("")).map_err(|e| format!("the query {e}"))?;
    if q.get("fromSrc").is_some() {
        return Err("importing an image (fromSrc) is not allowed for this client".into());
    }
    let from = q.get("fromImage").unwrap_or("");
    image::check_pull(from, q.get("tag").unwrap_or(""), patterns)
}

/// Judges an inspected body; one that passes gives the named volumes it mounts.
pub fn judge_body(p: &Profile, kind: BodyKind, bytes: &[u8]) -> Result<body::Mounted, Denial> {
    let images = p.images.as_deref();
    match body::inspect(kind, &p.containers, images, bytes) {
        Ok(mounted) => Ok(mounted),
        Err(Refusal::Unreadable(e)) => Err(Denial {
            rule: format!("profiles.{}.containers", p.name),
            field: None,
            message: format!("the request body cannot be inspected: {e}"),
            unreadable: true,
        }),
        Err(Refusal::Violation(v)) => Err(Denial {
            rule: if v.rule == "images" {
                format!("profiles.{}.images", p.name)
            } else {
                format!("profiles.{}.containers.{}", p.name, v.rule)
            },
            field: Some(v.field),
            message: v.message,
            unreadable: false,
        }),
    }
}

/// moby's `versions.LessThan`: dot-separated numbers compared in order, missing parts as 0.
pub fn version_less(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parse(a), parse(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x < y;
        }
    }
    false
}

/// Routes whose power the body rules cannot see (or see only in part), and why. Whole families
/// are named where one route of it is enough to matter: every write of swarm, services, nodes,
/// secrets, configs and plugins.
const POWER: &[(&str, &str)] = &[
    ("ImageBuild", "builds can use host networking and BuildKit entitlements, which no body rule sees"),
    ("Session", "a BuildKit session serves the client's files and secrets to builds"),
    ("Grpc", "BuildKit's API, unchecked"),
    ("PluginPull", "plugins run with the privileges they ask for"),
    ("PluginCreate", "plugins run with the privileges they ask for"),
    ("PluginEnable", "plugins run with the privileges they ask for"),
    ("PluginSet", "plugin settings can mount host paths and devices"),
    ("PluginUpgrade", "plugins run with the privileges they ask for"),
    ("PluginDisable", "plugins (volume and network drivers, authorization) stop, unchecked"),
    ("PluginDelete", "plugins (volume and network drivers, authorization) go, unchecked"),
    ("PluginPush", "the engine uploads a plugin to a registry the client names"),
    ("SwarmInit", "swarm services run containers whose specs no body rule sees"),
    ("SwarmJoin", "joining a swarm hands the node to another manager"),
    ("SwarmLeave", "the node leaves its swarm, unchecked"),
    ("SwarmInspect", "shows the swarm's join tokens"),
    ("SwarmUnlockkey", "shows the swarm's unlock key"),
    ("SwarmUpdate", "swarm settings, unchecked"),
    ("SwarmUnlock", "unlocks a locked swarm, unchecked"),
    ("ServiceCreate", "service specs can bind-mount host paths and add capabilities, unchecked"),
    ("ServiceUpdate", "service specs can bind-mount host paths and add capabilities, unchecked"),
    ("ServiceDelete", "services of the whole swarm, unchecked"),
    ("NodeUpdate", "node roles and availability in the swarm, unchecked"),
    ("NodeDelete", "nodes of the swarm, unchecked"),
    ("SecretCreate", "secrets, unchecked"),
    ("SecretInspect", "secret metadata"),
    ("SecretUpdate", "secrets, unchecked"),
    ("SecretDelete", "secrets, unchecked"),
    ("ConfigCreate", "configs, unchecked"),
    ("ConfigInspect", "config data"),
    ("ConfigUpdate", "configs, unchecked"),
    ("ConfigDelete", "configs, unchecked"),
    ("ImagePush", "the engine uploads any local image, with its files, to a registry the client names"),
    ("SystemAuth", "the engine logs in to a registry the client names"),
    ("NetworkCreate", "macvlan, ipvlan and bridge options can put containers on the host's own networks, unchecked"),
    ("VolumeCreate", "checked: a local volume's bind options are held to containers.bind_mounts"),
    ("ContainerUpdate", "checked: its device fields are held to containers.devices"),
    ("ExecStart", "checked: the exec's own privilege and its container's settings, as the engine describes them"),
];

/// Without `images`, a pull names any image and an import any URL.
const PULL_WITHOUT_IMAGES: &str = "without `images`, any image can be pulled, and an import (fromSrc) makes the engine fetch any URL the client names";

/// Routes that give content a name that `images` would then allow.
const NAMING: &[&str] = &["ImageLoad", "ImageTag", "ImageCommit", "ImageBuild"];

/// The load-time warnings for one profile.
pub fn warnings(p: &Profile) -> Vec<String> {
    let allows = |r: &Route| {
        let path = r.example_path();
        let req = RequestView::simple(&r.method, &path, false);
        p.allow.iter().any(|e| match e {
            AllowEntry::ReadOnly => read_only::allows(&req),
            AllowEntry::Route(pat) => pattern::reaches(pat, r),
        })
    };
    let mut out = Vec::new();
    for (name, why) in POWER {
        if let Some(r) = routes::by_name(name).filter(|r| allows(r)) {
            out.push(format!("profiles.{}: allows {}: {why}", p.name, r.text()));
        }
    }
    if p.images.as_ref().is_some_and(Vec::is_empty) {
        out.push(format!(
            "profiles.{}: `images` is empty: every pull and every container create is refused",
            p.name
        ));
    }
    if p.images.is_none() {
        if let Some(r) = routes::by_name("ImageCreate").filter(|r| allows(r)) {
            out.push(format!(
                "profiles.{}: allows {}: {PULL_WITHOUT_IMAGES}",
                p.name,
                r.text()
            ));
        }
    }
    if p.images.is_some() {
        for name in NAMING {
            if let Some(r) = routes::by_name(name).filter(|r| allows(r)) {
                out.push(format!(
                    "profiles.{}: allows {} while `images` is set: it can give any content an allowed image name",
                    p.name,
                    r.text()
                ));
            }
        }
    }
    let creates = ["ContainerCreate", "VolumeCreate"]
        .iter()
        .filter_map(|n| routes::by_name(n))
        .any(allows);
    if creates && !p.containers.bind_mounts.is_empty() && !p.containers.read_only_binds {
        out.push(format!(
            "profiles.{}: containers may bind {} writable: a client can plant a symbolic link there, and the engine follows it each time it mounts (every start, the restarts of a restart policy included), so any host path is within its reach; set read_only_binds = true to prevent it",
            p.name,
            p.containers.bind_mounts.join(", ")
        ));
    }
    let extra_reads: Vec<String> = routes::ROUTES
        .iter()
        .filter(|r| r.method == http::Method::GET || r.method == http::Method::HEAD)
        .filter(|r| !read_only::ALLOWED.iter().any(|(n, _)| *n == r.name))
        .filter(|r| !POWER.iter().any(|(n, _)| *n == r.name))
        .filter(|r| allows(r))
        .map(Route::text)
        .collect();
    if !extra_reads.is_empty() {
        out.push(format!(
            "profiles.{}: allows reads that read-only leaves out on purpose (file system, image and debug data, or the engine contacting other hosts): {}",
            p.name,
            extra_reads.join(", ")
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;

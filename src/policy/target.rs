//! The containers and execs a request acts on, held to the profile's `containers` rules.
//!
//! Body rules see the containers a client creates. `start`, `restart`, `update`, `attach`,
//! `exec` and archive uploads, downloads and stats act on any container, with the settings it was created with: a
//! client allowed to exec could otherwise run commands in a privileged container another client
//! started, or start one that binds the host's `/`. So for these routes the container's own
//! settings, as the engine describes them (`GET /containers/{id}/json`), are held to the rules
//! its create body would have been held to, and an exec start also to the exec's own privilege
//! (`GET /exec/{id}/json`): a profile acts only on containers it could have created. Bind paths
//! are resolved again then, so a link planted below an allowed prefix after the create is seen
//! at the start (the engine resolves it once more when it mounts; see `body::mounts`).
//!
//! The decision is pinned to the container it was made on: the request goes on with the
//! container's full ID in place of the name it was sent with (`pinned_path`), so a rename or
//! recreate by another client between the check and the request cannot swap in another
//! container; and a name the engine does not know is answered with the engine's own 404 rather
//! than sent on, where a container could have taken that name meanwhile.
//!
//! One setting the engine fills in itself is not held against a container here:
//! `CgroupnsMode: "host"` (the engine's default on cgroup v1 hosts, and what it sets for API
//! versions below 1.41). The `MaskedPaths`/`ReadonlyPaths` lists it writes hold every path the
//! rule requires; a container started with `systempaths=unconfined` has empty ones, and is
//! refused like its create body would have been (a writable `/proc/sys` reaches the host).

use super::body::container::{
    check_create, check_host_path, check_writable, shared_propagation, CreateView,
};
use super::body::json::{Object, Value};
use super::body::mounts;
use super::body::{BodyError, Fields, Violation};
use super::routes::Route;
use super::Denial;
use crate::config::{ContainerRules, Profile};

/// What a request acts on, named as in its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Container(String),
    Exec(String),
    /// A named volume a create body mounts: an existing one keeps its driver options.
    Volume(String),
    /// The same, mounted only read-only.
    ReadOnlyVolume(String),
    /// A `VolumesFrom` entry of a create body (`container[:mode]`): the new container gets
    /// every mount of that container.
    VolumesFrom(String),
}

impl Target {
    /// A named volume, mounted read-only or not.
    pub fn volume((name, read_only): (String, bool)) -> Target {
        if read_only {
            Target::ReadOnlyVolume(name)
        } else {
            Target::Volume(name)
        }
    }

    /// The engine path that describes it (the name percent-encoded).
    pub fn inspect_path(&self) -> String {
        match self {
            Target::Container(name) => format!("/containers/{}/json", encode(name)),
            Target::Exec(id) => format!("/exec/{}/json", encode(id)),
            Target::Volume(name) | Target::ReadOnlyVolume(name) => {
                format!("/volumes/{}", encode(name))
            }
            Target::VolumesFrom(spec) => {
                format!("/containers/{}/json", encode(volumes_from_name(spec)))
            }
        }
    }
}

/// Engine routes that act on an existing container (or exec) with its own settings.
/// `GET …/archive` reads through the container's mounts (a container that binds `/` hands out
/// the host's files) and `HEAD …/archive` stats through them (whether a host path exists, its
/// size, mode and link target); `export` (the container's own filesystem, without its mounts) is
/// left out.
const ROUTES: [&str; 9] = [
    "ContainerStart",
    "ContainerRestart",
    "ContainerUpdate",
    "ContainerAttach",
    "ContainerAttachWebsocket",
    "ContainerExec",
    "PutContainerArchive",
    "ContainerArchive",
    "ContainerArchiveInfo",
];

/// The container or exec `route` acts on, read from `path` (unversioned, canonical).
pub fn target_of(route: &Route, path: &str) -> Option<Target> {
    let exec = route.name == "ExecStart";
    if !exec && !ROUTES.contains(&route.name) {
        return None;
    }
    let (prefix, rest) = route.pattern.split_once('{')?;
    let suffix = &rest[rest.find('}')? + 1..];
    let name = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if name.is_empty() {
        return None;
    }
    Some(if exec {
        Target::Exec(name.to_string())
    } else {
        Target::Container(name.to_string())
    })
}

/// The container a `VolumesFrom` entry names (moby's `ParseVolumesFrom`: `container[:mode]`),
/// without the `/` that names have in the engine's own listings (it looks `name` and `/name` up
/// alike).
pub fn volumes_from_name(spec: &str) -> &str {
    let name = spec.split(':').next().unwrap_or_default();
    name.strip_prefix('/').unwrap_or(name)
}

/// Whether a `VolumesFrom` entry takes the mounts read-only (its mode has `ro`).
fn volumes_from_read_only(spec: &str) -> bool {
    spec.split_once(':')
        .is_some_and(|(_, mode)| mounts::mode_read_only(mode))
}

/// What the engine's description of a target says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Nothing the rules refuse.
    Pass,
    /// Its own settings pass; these must be judged next (an exec's container, the volumes a
    /// container mounts).
    Next(Vec<Target>),
    Refused(Denial),
}

/// Judges the engine's answer to `GET /containers/{id}/json` (a 200's body). A description
/// without the container's full ID (`described_id`) is refused: the request could not be pinned.
pub fn judge_container(p: &Profile, name: &str, inspect: &[u8]) -> Judged {
    let read = super::body::object(inspect).and_then(|top| Ok((view_of(&top)?, top)));
    let (view, top) = match read {
        Ok(v) => v,
        Err(e) => return unreadable(p, name, &e.to_string()),
    };
    if id_of(&top).is_none() {
        return unreadable(p, name, "it gives no container ID");
    }
    // Settings the engine fills in itself (see the module comment).
    // Also the log driver: the engine's own default (`log-driver` in daemon.json) is written
    // into every container it creates.
    let rules = ContainerRules {
        host_cgroupns: true,
        log_drivers: None,
        ..p.containers.clone()
    };
    let checked = match check_create(&view, &rules, p.images.as_deref()) {
        Ok(()) => mounts_of(&top, false, &p.containers),
        Err(v) => Err(MountsError::Refused(v)),
    };
    match checked {
        Ok(volumes) => next_volumes(volumes),
        Err(MountsError::Unreadable(e)) => unreadable(p, name, &e.to_string()),
        Err(MountsError::Refused(v)) => Judged::Refused(Denial {
            rule: if v.rule == "images" {
                format!("profiles.{}.images", p.name)
            } else {
                format!("profiles.{}.containers.{}", p.name, v.rule)
            },
            field: Some(format!("container.{}", v.field)),
            message: format!(
                "the container \"{name}\" was created with settings this client may not use: {}",
                v.message
            ),
            unreadable: false,
        }),
    }
}

/// Judges the engine's answer to `GET /exec/{id}/json`: the exec's own privilege, then its
/// container.
pub fn judge_exec(p: &Profile, id: &str, inspect: &[u8]) -> Judged {
    let read = || -> Result<(bool, String), BodyError> {
        let top = super::body::object(inspect)?;
        let f = Fields::new(&top, "");
        let container = f.string("ContainerID")?;
        let privileged = match f.object("ProcessConfig")? {
            Some(pc) => Fields::new(pc, "ProcessConfig").bool("privileged")?,
            None => false,
        };
        Ok((privileged, container))
    };
    match read() {
        Err(e) => unreadable(p, id, &e.to_string()),
        Ok((true, _)) if !p.containers.privileged => Judged::Refused(Denial {
            rule: format!("profiles.{}.containers.privileged", p.name),
            field: Some("exec.ProcessConfig.privileged".into()),
            message: format!(
                "the exec \"{id}\" was created privileged, which this client may not use"
            ),
            unreadable: false,
        }),
        Ok((_, container)) if container.is_empty() => unreadable(p, id, "it names no container"),
        Ok((_, container)) => Judged::Next(vec![Target::Container(container)]),
    }
}

/// Judges the engine's answer to `GET /containers/{id}/json` for a `VolumesFrom` entry of a
/// create body: only its mounts, which the new container gets (read-only with mode `ro`).
pub fn judge_volumes_from(p: &Profile, spec: &str, inspect: &[u8]) -> Judged {
    let name = volumes_from_name(spec);
    let read_only = volumes_from_read_only(spec);
    let judged = super::body::object(inspect)
        .map_err(MountsError::Unreadable)
        .and_then(|top| mounts_of(&top, read_only, &p.containers));
    match judged {
        Ok(volumes) => next_volumes(volumes),
        Err(MountsError::Unreadable(e)) => unreadable(p, name, &e.to_string()),
        Err(MountsError::Refused(v)) => Judged::Refused(Denial {
            rule: format!("profiles.{}.containers.{}", p.name, v.rule),
            field: Some(format!("HostConfig.VolumesFrom: container.{}", v.field)),
            message: format!(
                "the container \"{name}\" named in VolumesFrom has mounts this client may not use: {}",
                v.message
            ),
            unreadable: false,
        }),
    }
}

enum MountsError {
    Unreadable(BodyError),
    Refused(Violation),
}

impl From<BodyError> for MountsError {
    fn from(e: BodyError) -> Self {
        MountsError::Unreadable(e)
    }
}

/// The mounts the engine set a container up with, as it lists them (top-level `Mounts`: its
/// own binds and volumes, and those it took with `--volumes-from`, which its `HostConfig` does
/// not show). Bind sources are held to `bind_mounts`, and writable ones (unless `read_only`) to
/// `read_only_binds`; volumes are returned by name, to be judged by their own options. Types
/// other than bind, volume, tmpfs and image are refused.
fn mounts_of(
    top: &Object,
    read_only: bool,
    rules: &ContainerRules,
) -> Result<Vec<(String, bool)>, MountsError> {
    let list = match Fields::new(top, "").get("Mounts") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(MountsError::Unreadable(BodyError::Type {
                field: "Mounts".into(),
                expected: "an array",
                found: other.kind(),
            }))
        }
    };
    let mut volumes = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let at = format!("Mounts[{i}]");
        let Value::Object(o) = m else {
            return Err(MountsError::Unreadable(BodyError::Type {
                field: at,
                expected: "an object",
                found: m.kind(),
            }));
        };
        let f = Fields::new(o, &at);
        match f.string("Type")?.as_str() {
            "bind" => {
                let source = f.string("Source")?;
                let field = format!("{at}.Source");
                check_host_path(&source, &field, rules).map_err(MountsError::Refused)?;
                if mounts::propagation_shares(&f.string("Propagation")?) {
                    let field = format!("{at}.Propagation");
                    return Err(MountsError::Refused(shared_propagation(&source, &field)));
                }
                if f.bool("RW")? && !read_only {
                    check_writable(&source, &format!("{at}.RW"), rules)
                        .map_err(MountsError::Refused)?;
                }
            }
            "volume" => volumes.push((f.string("Name")?, read_only || !f.bool("RW")?)),
            "tmpfs" | "image" => {}
            other => {
                return Err(MountsError::Refused(Violation::new(
                    "bind_mounts",
                    format!("{at}.Type"),
                    format!("a mount of type \"{other}\" is not allowed for this client"),
                )))
            }
        }
    }
    volumes.retain(|(name, _)| !name.is_empty());
    Ok(volumes)
}

fn next_volumes(volumes: Vec<(String, bool)>) -> Judged {
    let volumes = mounts::uses(volumes.iter().map(|(n, ro)| (n.as_str(), *ro)));
    if volumes.is_empty() {
        Judged::Pass
    } else {
        Judged::Next(volumes.into_iter().map(Target::volume).collect())
    }
}

/// Judges the engine's answer to `GET /volumes/{name}`: its driver and options, as a volume
/// create body with them would be judged.
pub fn judge_volume(p: &Profile, name: &str, inspect: &[u8], read_only: bool) -> Judged {
    let read =
        || -> Result<(String, Option<std::collections::BTreeMap<String, String>>), BodyError> {
            let top = super::body::object(inspect)?;
            let f = Fields::new(&top, "");
            Ok((f.string("Driver")?, f.string_map("Options")?))
        };
    let (driver, options) = match read() {
        Ok(v) => v,
        Err(e) => return unreadable(p, name, &e.to_string()),
    };
    let judged = mounts::judge_volume(&driver, options.as_ref(), read_only, &p.containers);
    let Err(problem) = judged else {
        return Judged::Pass;
    };
    let what = match &problem {
        mounts::VolumeProblem::Outside(dev) => {
            format!("mounts the host path \"{dev}\", which this client may not mount")
        }
        mounts::VolumeProblem::Writable(dev) => {
            format!("mounts the host path \"{dev}\" writable, which this client may not use")
        }
        mounts::VolumeProblem::Refused(what) => {
            format!("was created with {what}, which this client may not use")
        }
    };
    Judged::Refused(Denial {
        rule: format!("profiles.{}.containers.{}", p.name, problem.rule()),
        field: Some("volume.Options".into()),
        message: format!("the volume \"{name}\" {what}"),
        unreadable: false,
    })
}

/// The full ID in the engine's description of a container (`Id`, 64 hex digits on every engine;
/// any 1 to 128 ASCII letters and digits are taken).
pub fn described_id(inspect: &[u8]) -> Option<String> {
    id_of(&super::body::object(inspect).ok()?)
}

fn id_of(top: &Object) -> Option<String> {
    let id = Fields::new(top, "").string("Id").ok()?;
    let fits = (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    fits.then_some(id)
}

/// Whether the engine's answer about the container or exec a request's path names says it
/// cannot resolve that name (unknown, ambiguous prefix): the client gets that answer, and the
/// request is not sent on. A 502 is not the engine's: it stands for a description too large to
/// read, which is judged (and refused) as unreadable.
pub fn unresolved(status: u16) -> bool {
    status >= 400 && status != 502
}

/// `path` (canonical, version prefix included) with the container `name` that `route` names in
/// it replaced by `id`.
pub fn pinned_path(route: &Route, path: &str, name: &str, id: &str) -> Option<String> {
    let suffix = &route.pattern[route.pattern.find('}')? + 1..];
    let head = path.strip_suffix(suffix)?.strip_suffix(name)?;
    Some(format!("{head}{id}{suffix}"))
}

/// The create view of an inspected container: `Config.Image` and `HostConfig`.
fn view_of(top: &Object) -> Result<CreateView, BodyError> {
    let f = Fields::new(top, "");
    let mut view = CreateView::default();
    if let Some(config) = f.object("Config")? {
        view.image = Fields::new(config, "Config").string("Image")?;
    }
    if let Some(host) = f.object("HostConfig")? {
        super::body::container::read_host(&Fields::new(host, "HostConfig"), &mut view)?;
    }
    Ok(view)
}

fn unreadable(p: &Profile, name: &str, why: &str) -> Judged {
    Judged::Refused(Denial {
        rule: format!("profiles.{}.containers", p.name),
        field: None,
        message: format!("the engine's description of \"{name}\" cannot be read: {why}"),
        unreadable: false,
    })
}

/// Percent-encodes everything but unreserved characters, for a path segment.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;

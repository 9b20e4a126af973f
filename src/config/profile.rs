//! `[profiles.NAME]`: access profiles as typed data, checked for syntax when the file loads.
//!
//! A profile is an ordered list of endpoint patterns ("METHODS PATH", or `read-only` for the
//! built-in read-only table), a switch for hijacked streams, an enforce/report mode, and the
//! rules for the bodies that grant power (`[profiles.NAME.containers]`). This module only parses
//! and normalises; matching and deciding live in `policy`, which compiles these once per load.

use std::path::Path;

use http::Method;

use super::file::{RawContainers, RawProfile};
use super::ConfigError;

/// One access profile, as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub allow: Vec<AllowEntry>,
    /// Attach, exec start, BuildKit sessions: any `Upgrade`, and attach without one.
    pub hijack: bool,
    pub mode: Mode,
    pub containers: ContainerRules,
    /// Image references that may be pulled and run; `None`: any.
    pub images: Option<Vec<ImagePattern>>,
}

/// What a profile does with a request it would deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    /// Log `would_deny` and forward anyway (for rolling a profile out).
    Report,
}

/// One entry of a profile's `allow` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// `"read-only"`: every route of the built-in read-only table.
    ReadOnly,
    Route(RoutePattern),
}

/// `"METHODS PATH"`, anchored, matched against the path without its `/vX.Y` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    /// The entry as written.
    pub text: String,
    /// `None`: `*`, any method.
    pub methods: Option<Vec<Method>>,
    pub segments: Vec<Segment>,
}

/// One `/`-separated piece of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `*` or `{id}` (any `{var}` but `{name}`): exactly one segment.
    One,
    /// `{name}`: an image or plugin reference, one or more segments.
    Name,
    /// `**`: whatever follows, including nothing (last segment only).
    Rest,
}

/// `[profiles.NAME.containers]`. Everything left out is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerRules {
    pub privileged: bool,
    pub host_namespaces: bool,
    /// `CgroupnsMode: "host"` alone (what cgroup v1 engines report for every container, and
    /// what tools that recreate containers from inspect copy back). Implied by `host_namespaces`.
    pub host_cgroupns: bool,
    /// Normalised: `CAP_` + upper case, or `ALL`.
    pub cap_add: Vec<String>,
    pub devices: bool,
    /// Lexically normalised absolute host paths, no trailing `/` (but `/` itself).
    pub bind_mounts: Vec<String>,
    pub security_opt_unconfined: bool,
    pub volumes_from: bool,
    pub annotations: bool,
    /// Every host path allowed by `bind_mounts` must be mounted read-only: containers of the
    /// client cannot then plant links below a prefix for a later bind to follow.
    pub read_only_binds: bool,
    /// The log drivers a container may name (`HostConfig.LogConfig.Type`); `None`: any.
    pub log_drivers: Option<Vec<String>>,
}

/// The log drivers that keep a container's output on the host, in the engine's own files or
/// the journal: the default of `log_drivers`. The others (syslog, gelf, fluentd, splunk,
/// awslogs, gcplogs…) make the engine, as root, connect to addresses or read files the client
/// names.
pub const LOCAL_LOG_DRIVERS: [&str; 4] = ["json-file", "local", "journald", "none"];

/// An image reference pattern, normalised the way the engine names images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePattern {
    pub text: String,
    /// `domain/path` glob: `*` within a component, `**` across components.
    pub repo: String,
    /// Tag glob; `None`: any tag or digest.
    pub tag: Option<String>,
    /// Exact digest (`sha256:...`); `None`: any.
    pub digest: Option<String>,
}

pub(super) struct ProfileCtx<'a> {
    pub path: &'a Path,
}

impl ProfileCtx<'_> {
    fn err(&self, key: String, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key,
            message: message.into(),
        }
    }
}

/// The built-in access names a profile may not take.
pub const BUILT_IN: [&str; 2] = ["full", "read-only"];

pub(super) fn profile(
    ctx: &ProfileCtx<'_>,
    name: &str,
    raw: &RawProfile,
) -> Result<Profile, ConfigError> {
    let key = |k: &str| format!("profiles.{name}.{k}");
    if BUILT_IN.contains(&name) {
        return Err(ctx.err(
            format!("profiles.{name}"),
            "is a built-in access level; give the profile another name",
        ));
    }
    if name == "none" {
        return Err(ctx.err(
            "profiles.none".to_string(),
            "`none` is what the metrics call the access of clients no [[allow]] entry matches; give the profile another name",
        ));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ctx.err(
            format!("profiles.{name}"),
            "a profile name uses letters, digits, `-` and `_` only",
        ));
    }
    if raw.allow.is_empty() {
        return Err(ctx.err(
            key("allow"),
            "is empty: the profile would allow nothing (list endpoints, or \"read-only\")",
        ));
    }
    let allow = raw
        .allow
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            allow_entry(entry).map_err(|m| ctx.err(format!("{}[{i}]", key("allow")), m))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mode = match raw.mode.as_deref() {
        None | Some("enforce") => Mode::Enforce,
        Some("report") => Mode::Report,
        Some(other) => {
            return Err(ctx.err(
                key("mode"),
                format!("`{other}` is not \"enforce\" or \"report\""),
            ))
        }
    };
    let default = RawContainers::default();
    let rc = raw.containers.as_ref().unwrap_or(&default);
    let containers = container_rules(ctx, name, rc)?;
    let images = match (&raw.images, &rc.images) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                key("images"),
                format!("is given twice: here and as profiles.{name}.containers.images; keep one"),
            ))
        }
        (Some(list), None) => Some((key("images"), list)),
        (None, Some(list)) => Some((key("containers.images"), list)),
        (None, None) => None,
    };
    let images = match images {
        None => None,
        Some((k, list)) => Some(
            list.iter()
                .enumerate()
                .map(|(i, p)| image_pattern(p).map_err(|m| ctx.err(format!("{k}[{i}]"), m)))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Profile {
        name: name.to_string(),
        allow,
        hijack: raw.hijack.unwrap_or(false),
        mode,
        containers,
        images,
    })
}

fn container_rules(
    ctx: &ProfileCtx<'_>,
    name: &str,
    raw: &RawContainers,
) -> Result<ContainerRules, ConfigError> {
    let key = |k: &str| format!("profiles.{name}.containers.{k}");
    let cap_add = raw
        .cap_add
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            normalize_capability(c)
                .filter(|n| n == "ALL" || CAPABILITIES.contains(&&n[4..]))
                .ok_or_else(|| {
                    ctx.err(
                        format!("{}[{i}]", key("cap_add")),
                        format!(
                            "`{c}` is not a Linux capability name like \"NET_ADMIN\" (or \"ALL\")"
                        ),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bind_mounts = raw
        .bind_mounts
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            normalize_host_path(p).ok_or_else(|| {
                ctx.err(
                    format!("{}[{i}]", key("bind_mounts")),
                    format!("`{p}` is not an absolute host path without `..`"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let log_drivers = match &raw.log_drivers {
        None => LOCAL_LOG_DRIVERS.map(str::to_string).to_vec(),
        Some(list) => {
            for (i, d) in list.iter().enumerate() {
                if d.is_empty() || d.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(ctx.err(
                        format!("{}[{i}]", key("log_drivers")),
                        format!("`{d}` is not a log driver name"),
                    ));
                }
            }
            list.clone()
        }
    };
    Ok(ContainerRules {
        privileged: raw.privileged.unwrap_or(false),
        host_namespaces: raw.host_namespaces.unwrap_or(false),
        host_cgroupns: raw.host_cgroupns.unwrap_or(false),
        cap_add,
        devices: raw.devices.unwrap_or(false),
        bind_mounts,
        security_opt_unconfined: raw.security_opt_unconfined.unwrap_or(false),
        volumes_from: raw.volumes_from.unwrap_or(false),
        annotations: raw.annotations.unwrap_or(false),
        read_only_binds: raw.read_only_binds.unwrap_or(false),
        log_drivers: Some(log_drivers),
    })
}

/// The methods the Engine API uses.
const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
];

/// Parses one `allow` entry.
pub fn allow_entry(text: &str) -> Result<AllowEntry, String> {
    if text == "read-only" {
        return Ok(AllowEntry::ReadOnly);
    }
    let mut parts = text.split_whitespace();
    let (Some(methods), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`{text}` is not \"METHODS PATH\" (like \"GET,HEAD /containers/{{id}}/json\") or \"read-only\""
        ));
    };
    let methods = if methods == "*" {
        None
    } else {
        let mut list = Vec::new();
        for m in methods.split(',') {
            match METHODS.iter().find(|k| k.as_str() == m) {
                Some(k) if !list.contains(k) => list.push(k.clone()),
                Some(_) => return Err(format!("`{text}`: method `{m}` is listed twice")),
                None => {
                    return Err(format!(
                        "`{text}`: `{m}` is not a method of the Engine API (GET, HEAD, POST, PUT, DELETE, OPTIONS, or `*`)"
                    ))
                }
            }
        }
        Some(list)
    };
    let segments = path_pattern(path).map_err(|m| format!("`{text}`: {m}"))?;
    Ok(AllowEntry::Route(RoutePattern {
        text: text.to_string(),
        methods,
        segments,
    }))
}

fn path_pattern(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("the path must start with `/`".into());
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let seg = match *part {
            "" if parts.len() == 1 => return Err("`/` alone matches nothing; use `/**`".into()),
            "" => return Err("the path has an empty segment (`//` or a trailing `/`)".into()),
            "." | ".." => return Err("the path has a `.` or `..` segment".into()),
            "**" if last => Segment::Rest,
            "**" => return Err("`**` may only be the last segment".into()),
            "*" => Segment::One,
            "{name}" => Segment::Name,
            p if p.starts_with('{') && p.ends_with('}') => {
                let var = &p[1..p.len() - 1];
                if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "`{p}` is not a variable like `{{id}}` or `{{name}}`"
                    ));
                }
                Segment::One
            }
            p if p.contains(['{', '}', '*']) => {
                return Err(format!(
                    "`{p}`: `*`, `**` and `{{var}}` stand for whole segments only"
                ))
            }
            p if p.chars().any(char::is_control) || p.contains('%') => {
                return Err(format!(
                    "`{p}`: write the segment decoded, without control characters or `%`"
                ))
            }
            p => Segment::Literal(p.to_string()),
        };
        if i == 0 && is_version(part) {
            return Err(format!(
                "`/{part}`: leave the API version out; versioned and bare paths match alike"
            ));
        }
        out.push(seg);
    }
    Ok(out)
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// `net_admin`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL` (as moby normalises them).
/// The Linux capabilities (capabilities(7), up to CAP_CHECKPOINT_RESTORE), without `CAP_`.
pub const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

pub fn normalize_capability(c: &str) -> Option<String> {
    let upper = c.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Some(upper);
    }
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    (!bare.is_empty() && bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| format!("CAP_{bare}"))
}

/// An absolute path, lexically cleaned (`//` and `.` removed, trailing `/` dropped); `None` for
/// a relative path or one with a `..` segment.
pub fn normalize_host_path(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return None;
    }
    let mut out = String::with_capacity(p.len());
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Parses an image pattern (`busybox`, `registry.example.com/**`, `alpine:3.*`,
/// `repo@sha256:...`), normalising its repository the way the engine does.
pub fn image_pattern(text: &str) -> Result<ImagePattern, String> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{text}` is not an image reference pattern"));
    }
    let (name, digest) = match text.split_once('@') {
        Some((n, d)) => {
            let (algo, hex) = d.split_once(':').unwrap_or(("", ""));
            // A digest is whole or it names nothing: the engine takes no shortened ones here.
            let len = match algo.to_ascii_lowercase().as_str() {
                "sha256" => 64,
                "sha384" => 96,
                "sha512" => 128,
                _ => 0,
            };
            if len == 0 || hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "`{text}`: the digest must be whole, like `sha256:<64 hex digits>`"
                ));
            }
            (n, Some(d.to_ascii_lowercase()))
        }
        None => (text, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].find(':') {
        Some(i) => (
            &name[..last_slash + i],
            Some(name[last_slash + i + 1..].to_string()),
        ),
        None => (name, None),
    };
    if repo.is_empty() || tag.as_deref() == Some("") {
        return Err(format!("`{text}` is not an image reference pattern"));
    }
    if repo.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "`{text}`: repository names are lower case (the engine refuses upper case)"
        ));
    }
    if repo.split('/').any(str::is_empty) {
        return Err(format!("`{text}` has an empty path component"));
    }
    Ok(ImagePattern {
        text: text.to_string(),
        repo: normalize_repo(repo),
        tag,
        digest,
    })
}

/// `busybox` → `docker.io/library/busybox`; `user/app` → `docker.io/user/app`;
/// `index.docker.io/x` → `docker.io/library/x` (moby's `ParseNormalizedNamed`).
pub fn normalize_repo(repo: &str) -> String {
    if repo == "**" || repo.starts_with("**/") {
        return repo.to_string();
    }
    let (domain, rest) = match repo.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first, rest.to_string())
        }
        _ => ("docker.io", repo.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    if domain == "docker.io" && !rest.contains('/') && rest != "**" {
        format!("docker.io/library/{rest}")
    } else {
        format!("{domain}/{rest}")
    }
}

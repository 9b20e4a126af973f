//! Host paths that reach a container: `Binds` parsed as moby parses `src:dst:mode`, `Mounts` of
//! type `bind`, and local volumes whose driver options mount a host path or device
//! (`type=none,o=bind,device=/`), all held to a profile's `bind_mounts`.
//!
//! The local volume driver hands its options to `mount(2)` on the host, in the engine's own
//! namespaces, at the first start that uses the volume. Only what cannot reach the host is let
//! through: no mount options, a bind (`o=bind`/`rbind`, held to `bind_mounts`), or a network or
//! memory file system. Any other type mounts something of the host's (`proc` and `sysfs` the
//! host's own, `overlay` host directories named in `o`, `ext4` and the like a device node the
//! client may have made inside its own bind), so it is refused; so are the options of any other
//! volume driver (plugins take host paths and credentials in them).
//!
//! Paths are compared by path component after lexical cleaning (`/srv/ci2` is not under
//! `/srv/ci`), and any `..` is refused. The existing part of the path is then resolved on this
//! host (symbolic links followed, as the kernel will when it mounts) and must still be inside an
//! allowed prefix, itself resolved the same way. That second check narrows, but cannot close, a race: a client that can write
//! inside an allowed prefix can swap a directory for a link between the check and the mount.

use std::path::{Path, PathBuf};

use crate::config::profile::normalize_host_path;

/// Local-driver mount types that take no host path: network file systems and memory.
const REMOTE_TYPES: [&str; 5] = ["nfs", "nfs4", "cifs", "smb3", "tmpfs"];

/// The host path a `Binds` entry mounts, if it is a bind (moby's Linux `ParseMountRaw`: at most
/// `src:dst:mode`, and the source is a host path when it is absolute).
pub fn bind_source(spec: &str) -> Option<&str> {
    let parts: Vec<&str> = spec.splitn(4, ':').collect();
    match parts.len() {
        2..=4 if parts[0].starts_with('/') => Some(parts[0]),
        _ => None,
    }
}

/// The named volume a `Binds` entry mounts, if any (`name:/dst[:mode]`).
pub fn bind_volume(spec: &str) -> Option<&str> {
    let parts: Vec<&str> = spec.splitn(4, ':').collect();
    match parts.len() {
        2 | 3 if !parts[0].is_empty() && !parts[0].starts_with('/') => Some(parts[0]),
        _ => None,
    }
}

/// The mode of a `Binds` entry (`src:dst:mode`), if it has one.
fn bind_mode(spec: &str) -> Option<&str> {
    match spec.splitn(4, ':').collect::<Vec<_>>()[..] {
        [_, _, mode] => Some(mode),
        _ => None,
    }
}

/// Whether a mount mode (comma-separated, as in `Binds` and `VolumesFrom`) says `ro`, as moby's
/// parser reads it.
pub fn mode_read_only(mode: &str) -> bool {
    mode.split(',').any(|o| o == "ro")
}

/// Whether a `Binds` entry is read-only: its mode says `ro`.
pub fn bind_read_only(spec: &str) -> bool {
    bind_mode(spec).is_some_and(mode_read_only)
}

/// Named volumes, each once, read-only only if every one of its `uses` (name, read-only) is.
pub fn uses<'a>(uses: impl Iterator<Item = (&'a str, bool)>) -> Vec<(String, bool)> {
    let mut out = std::collections::BTreeMap::<String, bool>::new();
    for (name, read_only) in uses {
        *out.entry(name.to_string()).or_insert(true) &= read_only;
    }
    out.into_iter().collect()
}

/// Whether a mount propagation lets mounts made below the bind appear on the host (`shared`,
/// `rshared`): a container's own volume mounted inside the bind would then sit in the host's
/// directory, writable, after the container is gone.
pub fn propagation_shares(propagation: &str) -> bool {
    matches!(propagation, "shared" | "rshared")
}

/// Whether a `Binds` entry's mode asks for shared propagation (`src:dst:ro,rshared`).
pub fn bind_shares(spec: &str) -> bool {
    bind_mode(spec).is_some_and(|mode| mode.split(',').any(propagation_shares))
}

/// Whether local volume options mount read-only, as the engine applies `o` (moby's
/// `mount.parseOptions`): items in order, untrimmed, each `ro` setting the read-only flag and
/// each `rw` clearing it, so `bind,ro,rw` is writable and ` ro` is no flag at all.
pub fn options_read_only(opts: &std::collections::BTreeMap<String, String>) -> bool {
    let Some(o) = opts.get("o") else {
        return false;
    };
    o.split(',').fold(false, |ro, item| match item {
        "ro" => true,
        "rw" => false,
        _ => ro,
    })
}

/// Why a volume may not be mounted under a profile's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeProblem<'a> {
    /// It binds a host path outside `bind_mounts`.
    Outside(&'a str),
    /// It binds an allowed host path writable, under `read_only_binds`.
    Writable(&'a str),
    /// It mounts something the rules cannot judge ([`VolumeMount::Refused`]).
    Refused(String),
}

impl VolumeProblem<'_> {
    /// The `containers` rule that refuses it.
    pub fn rule(&self) -> &'static str {
        match self {
            VolumeProblem::Writable(_) => "read_only_binds",
            VolumeProblem::Outside(_) | VolumeProblem::Refused(_) => "bind_mounts",
        }
    }
}

/// Judges volume `driver` (empty: local) with driver options `opts` under `rules`, for a
/// volume create body, a `Mounts` entry of type `volume` (`read_only`: its `ReadOnly`), and a
/// named volume as the engine describes it. One that binds is read-only when the mount is, or
/// its options say `ro`.
pub fn judge_volume<'a>(
    driver: &str,
    opts: Option<&'a std::collections::BTreeMap<String, String>>,
    read_only: bool,
    rules: &crate::config::ContainerRules,
) -> Result<(), VolumeProblem<'a>> {
    match volume_mount(driver, opts) {
        VolumeMount::Contained => Ok(()),
        VolumeMount::HostPath(dev) if !allowed(dev, &rules.bind_mounts) => {
            Err(VolumeProblem::Outside(dev))
        }
        VolumeMount::HostPath(dev)
            if rules.read_only_binds && !read_only && !opts.is_some_and(options_read_only) =>
        {
            Err(VolumeProblem::Writable(dev))
        }
        VolumeMount::HostPath(_) => Ok(()),
        VolumeMount::Refused(what) => Err(VolumeProblem::Refused(what)),
    }
}

/// What a volume's driver and options have the engine mount on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeMount<'a> {
    /// Nothing of the host's: a plain volume, or a network or memory file system.
    Contained,
    /// A host path or device bound in (`o=bind` or `rbind`), held to `bind_mounts`.
    HostPath(&'a str),
    /// Something the rules cannot judge, in the request's terms.
    Refused(String),
}

/// What volume `driver` (empty: local) with driver options `opts` mounts.
pub fn volume_mount<'a>(
    driver: &str,
    opts: Option<&'a std::collections::BTreeMap<String, String>>,
) -> VolumeMount<'a> {
    let opts = opts.filter(|o| !o.is_empty());
    let Some(opts) = opts else {
        return VolumeMount::Contained;
    };
    if !(driver.is_empty() || driver == "local") {
        return VolumeMount::Refused(format!(
            "options for the volume driver \"{driver}\" (plugins may mount host paths)"
        ));
    }
    let get = |k: &str| opts.get(k).map(String::as_str);
    let (kind, o, device) = (get("type"), get("o"), get("device"));
    if kind.is_none() && o.is_none() && device.is_none() {
        return VolumeMount::Contained;
    }
    // moby/sys/mount turns `bind` and `rbind` into MS_BIND, and the kernel then binds `device`
    // whatever the type says.
    let binds = o
        .unwrap_or("")
        .split(',')
        .any(|o| o.trim() == "bind" || o.trim() == "rbind");
    if binds {
        return VolumeMount::HostPath(device.unwrap_or(""));
    }
    match kind.unwrap_or("") {
        k if REMOTE_TYPES.contains(&k) => VolumeMount::Contained,
        k => VolumeMount::Refused(format!(
            "a local volume of type \"{k}\" (it mounts a host file system or device)"
        )),
    }
}

/// Whether host path `p` may be mounted under `allowed` prefixes.
pub fn allowed(p: &str, allowed: &[String]) -> bool {
    let Some(clean) = normalize_host_path(p) else {
        return false;
    };
    if !within(&clean, allowed) {
        return false;
    }
    // Both sides resolved: an allowed prefix may itself be (or lie under) a symbolic link.
    let real: Vec<String> = allowed
        .iter()
        .map(|a| resolve_existing(Path::new(a)))
        .collect();
    within(&resolve_existing(Path::new(&clean)), &real)
}

fn within(p: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        a == "/"
            || p == a
            || p.strip_prefix(a.as_str())
                .is_some_and(|r| r.starts_with('/'))
    })
}

/// `p` with its longest existing ancestor resolved (symbolic links followed); the rest appended
/// as written. A path nothing of which can be resolved is returned as it is.
fn resolve_existing(p: &Path) -> String {
    let mut head = p.to_path_buf();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&head) {
            let mut out: PathBuf = real;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out.to_string_lossy().into_owned();
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                head = parent.to_path_buf();
            }
            _ => return p.to_string_lossy().into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_parsed_as_moby_does() {
        assert_eq!(bind_source("/srv/ci:/data"), Some("/srv/ci"));
        assert_eq!(bind_source("/srv/ci:/data:ro"), Some("/srv/ci"));
        assert_eq!(bind_source("/:/host:ro:z"), Some("/"));
        assert_eq!(
            bind_source("/data"),
            None,
            "a target alone is an anonymous volume"
        );
        assert_eq!(bind_source("named:/data"), None, "a volume name");
        assert_eq!(bind_source(":/data"), None);
    }

    #[test]
    fn prefixes_are_compared_by_component() {
        let ok = vec!["/srv/ci".to_string()];
        assert!(allowed("/srv/ci", &ok));
        assert!(allowed("/srv/ci/", &ok));
        assert!(allowed("/srv/ci/job/1", &ok));
        assert!(allowed("//srv//ci/./job", &ok));
        assert!(!allowed("/srv/ci2", &ok));
        assert!(!allowed("/srv", &ok));
        assert!(!allowed("/srv/ci/../../etc", &ok));
        assert!(!allowed("/srv/ci/..", &ok));
        assert!(!allowed("srv/ci", &ok));
        assert!(!allowed("/", &ok));
        assert!(allowed("/anything", &["/".to_string()]));
        assert!(!allowed("/srv/ci", &[]));
    }

    #[test]
    fn links_inside_a_prefix_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("ok")).unwrap();
        std::os::unix::fs::symlink("/etc", base.join("ok/escape")).unwrap();
        let ok = vec![base.join("ok").to_string_lossy().into_owned()];
        let p = |s: &str| base.join(s).to_string_lossy().into_owned();
        assert!(allowed(&p("ok/new/dir"), &ok), "a path still to be created");
        assert!(!allowed(&p("ok/escape"), &ok), "a link out of the prefix");
        assert!(!allowed(&p("ok/escape/passwd"), &ok));
    }

    #[test]
    fn a_prefix_that_is_a_link_is_resolved_too() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("real")).unwrap();
        std::fs::create_dir(base.join("other")).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
        let ok = vec![base.join("link").to_string_lossy().into_owned()];
        let p = |s: &str| base.join(s).to_string_lossy().into_owned();
        assert!(allowed(&p("link/work"), &ok));
        assert!(allowed(&p("link"), &ok));
        assert!(
            !allowed(&p("real/work"), &ok),
            "lexically outside the prefix"
        );
        assert!(!allowed(&p("other"), &ok));
    }

    #[test]
    fn volume_options_mount_only_what_the_rules_can_judge() {
        use std::collections::BTreeMap;
        let opts = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let refused = |m: VolumeMount<'_>| matches!(m, VolumeMount::Refused(_));
        let bind = opts(&[("type", "none"), ("o", "bind"), ("device", "/")]);
        assert_eq!(
            volume_mount("local", Some(&bind)),
            VolumeMount::HostPath("/")
        );
        assert_eq!(volume_mount("", Some(&bind)), VolumeMount::HostPath("/"));
        let rbind = opts(&[("o", "ro, rbind"), ("device", "/srv")]);
        assert_eq!(
            volume_mount("local", Some(&rbind)),
            VolumeMount::HostPath("/srv")
        );
        let nfs_bind = opts(&[("type", "nfs"), ("o", "bind"), ("device", "/etc")]);
        assert_eq!(
            volume_mount("local", Some(&nfs_bind)),
            VolumeMount::HostPath("/etc")
        );
        let nfs = opts(&[
            ("type", "nfs"),
            ("o", "addr=10.0.0.1"),
            ("device", ":/export"),
        ]);
        assert_eq!(volume_mount("local", Some(&nfs)), VolumeMount::Contained);
        let tmpfs = opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m")]);
        assert_eq!(volume_mount("local", Some(&tmpfs)), VolumeMount::Contained);
        assert_eq!(volume_mount("local", None), VolumeMount::Contained);
        assert_eq!(
            volume_mount("local", Some(&opts(&[]))),
            VolumeMount::Contained
        );
        assert_eq!(
            volume_mount("local", Some(&opts(&[("size", "1g")]))),
            VolumeMount::Contained
        );
        // The host's own proc and sysfs, host directories through overlay, a device node.
        for pairs in [
            &[("type", "proc"), ("device", "/srv/ci")][..],
            &[("type", "sysfs"), ("device", "/srv/ci")],
            &[
                ("type", "overlay"),
                ("o", "lowerdir=/,upperdir=/srv/ci/u,workdir=/srv/ci/w"),
                ("device", "/srv/ci"),
            ],
            &[("type", "ext4"), ("device", "/srv/ci/sda1")],
            &[("type", "none"), ("device", "/srv/ci")],
            &[("device", "/srv/ci")],
            &[("o", "lowerdir=/")],
        ] {
            let o = opts(pairs);
            assert!(refused(volume_mount("local", Some(&o))), "{pairs:?}");
        }
        assert!(refused(volume_mount(
            "local-persist",
            Some(&opts(&[("mountpoint", "/")]))
        )));
        assert_eq!(volume_mount("local-persist", None), VolumeMount::Contained);
    }
}

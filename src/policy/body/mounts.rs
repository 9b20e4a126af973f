//! Host paths that reach a container: `Binds` parsed as moby parses `src:dst:mode`, `Mounts` of
//! type `bind`, and local volumes whose driver options mount a host path or device
//! (`type=none,o=bind,device=/`), all held to a profile's `bind_mounts`.
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

/// The host path or device a local volume's driver options mount, if any: `device` unless the
/// `type` is a network or memory file system.
pub fn local_volume_device<'a>(
    driver: &str,
    opts: impl Fn(&str) -> Option<&'a str>,
) -> Option<&'a str> {
    if !(driver.is_empty() || driver == "local") {
        return None;
    }
    let device = opts("device")?;
    let kind = opts("type").unwrap_or("");
    // moby/sys/mount turns `bind` and `rbind` into MS_BIND, and the kernel then binds `device`
    // whatever the type says.
    let binds = opts("o")
        .unwrap_or("")
        .split(',')
        .any(|o| o == "bind" || o == "rbind");
    if REMOTE_TYPES.contains(&kind) && !binds {
        return None;
    }
    Some(device)
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
    fn local_volume_devices() {
        let opts = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| *v)
        };
        let bind = opts(&[("type", "none"), ("o", "bind"), ("device", "/")]);
        assert_eq!(local_volume_device("local", bind), Some("/"));
        assert_eq!(local_volume_device("", bind), Some("/"));
        let disk = opts(&[("type", "ext4"), ("device", "/dev/sda1")]);
        assert_eq!(local_volume_device("local", disk), Some("/dev/sda1"));
        let nfs = opts(&[
            ("type", "nfs"),
            ("o", "addr=10.0.0.1"),
            ("device", ":/export"),
        ]);
        assert_eq!(local_volume_device("local", nfs), None);
        let nfs_bind = opts(&[("type", "nfs"), ("o", "bind"), ("device", "/etc")]);
        assert_eq!(local_volume_device("local", nfs_bind), Some("/etc"));
        assert_eq!(
            local_volume_device("local", opts(&[("type", "tmpfs")])),
            None
        );
        assert_eq!(local_volume_device("other-plugin", bind), None);
    }
}

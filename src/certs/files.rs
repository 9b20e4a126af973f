//! Writing certificate files: never over an existing file unless asked, keys born 0600, and
//! every replacement atomic (temporary file, fsync, rename, fsync of the folder), so that a
//! gateway watching the files never reads half of one and a crash never loses one.
//!
//! Anyone who can write the CA folder must not be able to make `dockgate certs` write a key
//! where they can read it: every file is created with `O_CREAT | O_EXCL` (which never follows a
//! symbolic link and fails on anything already there) and `O_NOFOLLOW`, and the temporary file
//! of a replacement has an unpredictable name (128 random bits), so it cannot be planted in
//! advance. The rename then replaces whatever is at the final path, a symbolic link included,
//! without following it.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and parents) with `mode` if it does not exist yet.
pub fn create_dir(dir: &Path, mode: u32) -> Result<(), FileError> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(err(dir))
}

/// Creates `path` with `mode`, failing if anything (a file, a symbolic link) is already there,
/// and writes `contents` to it, synced.
fn create_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), FileError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC).bits() as i32)
        .mode(mode)
        .open(path)
        .map_err(err(path))?;
    f.write_all(contents).map_err(err(path))?;
    f.sync_all().map_err(err(path))
}

/// `.NAME.RANDOM.tmp` beside `path`: 32 hex digits nobody can guess.
fn temporary_name(path: &Path) -> Result<PathBuf, FileError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| FileError {
            path: path.to_path_buf(),
            source: std::io::Error::other("no randomness for a temporary file name"),
        })?;
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(dir.join(format!(".{name}.{random}.tmp")))
}

/// Writes `path` with `mode`: a new file, or (with `replace`) atomically over an existing one.
pub fn write(path: &Path, contents: &[u8], mode: u32, replace: bool) -> Result<(), FileError> {
    if !replace {
        return create_new(path, contents, mode);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temporary_name(path)?;
    // Only a file this call created is ever removed: a failed create_new leaves what was there.
    create_new(&tmp, contents, mode)?;
    let result = (|| {
        std::fs::rename(&tmp, path).map_err(err(path))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(err(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{temporary_name, write};

    #[test]
    fn temporary_names_are_unpredictable() {
        let path = std::path::Path::new("/ca/ca-key.pem");
        let (a, b) = (
            temporary_name(path).expect("name"),
            temporary_name(path).expect("name"),
        );
        assert_ne!(a, b);
        let name = a.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            name.starts_with(".ca-key.pem.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(name.len(), ".ca-key.pem.".len() + 32 + ".tmp".len());
        assert_eq!(a.parent(), path.parent());
    }

    /// The old temporary name was `.NAME.PID.tmp`: a symbolic link planted there (or at any
    /// name) is never followed, and what it points to is never written.
    #[test]
    fn a_planted_symlink_or_file_is_never_followed_nor_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").expect("write");
        let key = dir.path().join("ca-key.pem");
        let old_tmp = dir
            .path()
            .join(format!(".ca-key.pem.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).expect("symlink");

        // A new file over a planted symbolic link: refused, the target untouched.
        std::os::unix::fs::symlink(&victim, &key).expect("symlink");
        assert!(write(&key, b"secret", 0o600, false).is_err());
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");

        // A replacement: the link at the final path is replaced by the file, not followed.
        write(&key, b"secret", 0o600, true).expect("replace");
        assert!(!std::fs::symlink_metadata(&key).expect("stat").is_symlink());
        assert_eq!(std::fs::read_to_string(&key).expect("read"), "secret");
        let mode = std::fs::metadata(&key).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");
        assert!(
            std::fs::symlink_metadata(&old_tmp).is_ok(),
            "the plant is left alone"
        );

        // A file planted at the final path is not overwritten without `replace`.
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "planted").expect("write");
        assert!(write(&cert, b"new", 0o644, false).is_err());
        assert_eq!(std::fs::read_to_string(&cert).expect("read"), "planted");

        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") && !old_tmp.ends_with(n))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

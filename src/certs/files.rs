//! Writing certificate files: never over an existing file unless asked, keys born 0600, and
//! every replacement atomic (temporary file, fsync, rename, fsync of the folder), so that a
//! gateway watching the files never reads half of one and a crash never loses one.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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

/// Writes `path` with `mode`: a new file, or (with `replace`) atomically over an existing one.
pub fn write(path: &Path, contents: &[u8], mode: u32, replace: bool) -> Result<(), FileError> {
    if !replace {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(err(path))?;
        f.write_all(contents).map_err(err(path))?;
        return f.sync_all().map_err(err(path));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(err(&tmp))?;
        f.write_all(contents).map_err(err(&tmp))?;
        f.sync_all().map_err(err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(err(path))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(err(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

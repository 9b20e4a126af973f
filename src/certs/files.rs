//! Writing certificate files: never over an existing file, keys born 0600.

use std::fs::{DirBuilder, OpenOptions};
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

/// Creates `dir` (and parents) with `mode` if it does not exist yet.
pub fn create_dir(dir: &Path, mode: u32) -> Result<(), FileError> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|source| FileError {
            path: dir.to_path_buf(),
            source,
        })
}

/// Writes a new file with `mode` from the start; fails if it exists.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), FileError> {
    let err = |source| FileError {
        path: path.to_path_buf(),
        source,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(contents).map_err(err)?;
    f.sync_all().map_err(err)
}

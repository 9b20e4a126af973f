//! The Go test programs under `tests/go`, built offline against moby 20.10's own source
//! (Debian's golang-go and golang-github-docker-docker-dev, GOPATH mode).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `tests/go/PROGRAM` into `dir`; fails the test (never skips) without Go or the moby
/// source.
pub fn build(program: &str, dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/build.sh");
    let bin = dir.join(program);
    let out = Command::new("sh")
        .arg(&script)
        .arg(program)
        .arg(&bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "cannot build tests/go/{program}; it needs `go` and moby 20.10's source (Debian: apt-get \
         install golang-go golang-github-docker-docker-dev; tests/run.sh installs both):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

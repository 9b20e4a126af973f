//! Picking up renewed files without a signal (`tls.watch`, on by default): the certificate, key,
//! CA bundle and CRL files are polled every second, and a change triggers the same
//! validate-then-swap reload as SIGHUP. Renewal tools (step-ca, Vault agent, cert-manager and
//! their symlink swaps) rewrite several files in a row, so a change is acted on only once two
//! polls agree; a half-written file fails validation and the running state stays until the next
//! change completes it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::Gateway;

/// How often the files are looked at.
pub const INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(SystemTime, u64, u64, u64)>);

fn stamp(path: &PathBuf) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    Stamp(
        std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len(), m.ino(), m.dev()))),
    )
}

fn snapshot(files: &[PathBuf]) -> Vec<(PathBuf, Stamp)> {
    files.iter().map(|p| (p.clone(), stamp(p))).collect()
}

/// Polls the gateway's watched files for ever, calling `reload` after each settled change.
pub async fn run(gateway: Arc<Gateway>, reload: impl Fn()) {
    let mut last = snapshot(&gateway.watched_files());
    loop {
        tokio::time::sleep(INTERVAL).await;
        let files = gateway.watched_files();
        let mut now = snapshot(&files);
        if now == last {
            continue;
        }
        loop {
            tokio::time::sleep(INTERVAL).await;
            let again = snapshot(&files);
            if again == now {
                break;
            }
            now = again;
        }
        let changed: Vec<String> = now
            .iter()
            .filter(|entry| !last.contains(entry))
            .map(|(p, _)| p.display().to_string())
            .collect();
        tracing::info!(files = %changed.join(", "), "watched files changed; reloading");
        reload();
        last = snapshot(&gateway.watched_files());
    }
}

//! Test harness shared by the behaviour tests: a test PKI made with rcgen, the gateway in-process
//! on 127.0.0.1:0 or as the real binary, a scripted fake engine on a temporary unix socket,
//! TLS and HTTP clients, and the docker CLI pointed at the gateway.
#![allow(dead_code)]

pub mod cli;
pub mod client;
pub mod container;
pub mod engine;
pub mod fake;
pub mod gateway;
pub mod go;
pub mod metrics;
pub mod pki;
pub mod policy;
pub mod proc;
pub mod wait;

use std::path::PathBuf;

/// The private engine's socket started by `tests/run.sh`. The real-engine tests fail without it.
pub fn engine_socket() -> PathBuf {
    match std::env::var_os("DOCKGATE_TEST_DOCKER_SOCK") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "DOCKGATE_TEST_DOCKER_SOCK is not set: run the suite with tests/run.sh, which starts a private Docker Engine"
        ),
    }
}

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the suite with tests/run.sh"))
}

/// The tiny busybox image built by `tests/run.sh`.
pub fn test_image() -> String {
    env("DOCKGATE_TEST_IMAGE")
}

/// `127.0.0.1:PORT` of the private registry.
pub fn registry() -> String {
    env("DOCKGATE_TEST_REGISTRY")
}

/// The repository (in the registry) of the several-MB image for pull tests.
pub fn pull_repo() -> String {
    env("DOCKGATE_TEST_PULL_REPO")
}

/// A name unique within this test run, for containers and images.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

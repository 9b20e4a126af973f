//! Image builds through the gateway: the classic builder streams the context tar to the engine
//! (`POST /build`), and BuildKit (docker 20.10 CLI with DOCKER_BUILDKIT=1) works over its
//! `Upgrade: h2c` session, which the gateway passes through like any upgrade.

mod common;

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = unique("marker");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN echo built > /built.txt\nCOPY payload.bin /payload.bin\n",
            test_image()
        ),
    )
    .expect("write");
    let payload: Vec<u8> = marker.bytes().cycle().take(2_000_000).collect();
    std::fs::write(dir.path().join("payload.bin"), payload).expect("write");
    dir
}

fn check_image(docker: &Docker, tag: &str) {
    let out = docker.ok(&[
        "run",
        "--rm",
        tag,
        "sh",
        "-c",
        "cat /built.txt; wc -c < /payload.bin",
    ]);
    assert_eq!(out, "built\n2000000\n");
    docker.ok(&["rmi", tag]);
}

/// Builds the test context through `gw` with `docker`, BuildKit on or off; returns the tag.
fn build(docker: &Docker, buildkit: bool) -> String {
    let ctx = context();
    let tag = format!(
        "dockgate-test/{}:1",
        unique(if buildkit { "buildkit" } else { "classic" })
    );
    let path = ctx.path().to_str().expect("path");
    let mut cmd = docker.cmd(&["build", "--network=none", "-t", &tag, path]);
    let out = cmd
        .env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" })
        .output()
        .expect("build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

#[test]
fn classic_build_streams_the_context() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let tag = build(&docker, false);
    check_image(&docker, &tag);
}

#[test]
fn buildkit_session_upgrade_passes_through() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    // The 20.10 CLI has BuildKit built in (docker 28 needs the buildx plugin).
    let docker = Docker::legacy(&gw.docker_host(), &pki.client("admin"));
    let tag = build(&docker, true);
    // The session's audit line is written when its stream closes, just after the build ends.
    let session = gw.wait_log(std::time::Duration::from_secs(30), |a| {
        a["target"] == "dockgate::audit"
            && a["path"].as_str().is_some_and(|p| p.ends_with("/session"))
            && a["status"] == 101
            && a["upgraded"] == true
    });
    assert!(
        session.is_some(),
        "no upgraded BuildKit session in the audit log: {:?}",
        gw.audit()
    );
    check_image(&docker, &tag);
}

//! The everyday docker CLI commands work through the gateway against a real engine: version,
//! info, ps, images, and `run --rm` printing its output.

mod common;

use common::cli::{docker_direct, Docker};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image};

#[test]
fn version_info_ps_images_and_run() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let image = test_image();

    let via_gateway = docker.ok(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ]);
    let direct = docker_direct(
        &engine_socket(),
        &[
            "version",
            "--format",
            "{{.Server.Version}} {{.Server.APIVersion}}",
        ],
    );
    assert_eq!(via_gateway, String::from_utf8_lossy(&direct.stdout));

    let info = docker.ok(&["info", "--format", "{{.ServerVersion}} {{.Driver}}"]);
    assert!(info.contains("vfs"), "{info}");

    docker.ok(&["ps", "-a"]);
    let images = docker.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        images.lines().any(|l| l == image),
        "{image} not in {images}"
    );

    let out = docker.ok(&["run", "--rm", &image, "echo", "hello from busybox"]);
    assert_eq!(out, "hello from busybox\n");
}

#[test]
fn legacy_cli_works_too() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::legacy(&gw.docker_host(), &pki.client("admin"));
    let out = docker.ok(&["run", "--rm", &test_image(), "echo", "old client"]);
    assert_eq!(out, "old client\n");
}

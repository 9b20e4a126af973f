//! `docker save` and `docker load` stream whole images through the gateway, byte for byte.

mod common;

use common::cli::{docker_direct, Docker};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

#[test]
fn save_and_load_are_byte_identical() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = format!("dockgate-test/{}:saved", unique("save"));
    docker.ok(&["tag", &test_image(), &tag]);

    let via = dir.path().join("via-gateway.tar");
    let direct = dir.path().join("direct.tar");
    docker.ok(&["save", "-o", via.to_str().expect("path"), &tag]);
    assert!(docker_direct(
        &engine_socket(),
        &["save", "-o", direct.to_str().expect("path"), &tag]
    )
    .status
    .success());
    let via_bytes = std::fs::read(&via).expect("read");
    assert!(via_bytes.len() > 1_000_000, "the image is over 1 MB");
    assert!(
        via_bytes == std::fs::read(&direct).expect("read"),
        "save through the gateway differs"
    );

    docker.ok(&["rmi", &tag]);
    let loaded = docker.ok(&["load", "-i", via.to_str().expect("path")]);
    assert!(loaded.contains(&tag), "{loaded}");
    let again = dir.path().join("again.tar");
    docker.ok(&["save", "-o", again.to_str().expect("path"), &tag]);
    assert!(
        via_bytes == std::fs::read(&again).expect("read"),
        "loaded image differs"
    );
    docker.ok(&["rmi", &tag]);
}

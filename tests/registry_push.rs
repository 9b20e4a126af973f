//! `docker push` and `docker pull` against the private registry through the gateway: the
//! registry credentials header passes to the engine, and the image round-trips.

mod common;

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, registry, test_image, unique};

#[test]
fn push_then_pull_round_trips() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let reference = format!("{}/dockgate-test/{}:1", registry(), unique("push"));
    docker.ok(&["tag", &test_image(), &reference]);
    let pushed = docker.ok(&["push", &reference]);
    assert!(pushed.contains("digest: sha256:"), "{pushed}");
    docker.ok(&["rmi", &reference]);
    docker.ok(&["pull", &reference]);
    assert_eq!(
        docker.ok(&["run", "--rm", &reference, "echo", "pulled"]),
        "pulled\n"
    );
    docker.ok(&["rmi", &reference]);
}

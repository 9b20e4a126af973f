//! `docker cp` works both ways through the gateway (archive PUT streams in, GET streams out).

mod common;

use common::cli::Docker;
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

#[test]
fn cp_into_and_out_of_a_container() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let dir = tempfile::tempdir().expect("tempdir");
    let name = unique("cp");
    docker.ok(&["create", "--name", &name, &test_image(), "true"]);

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let src = dir.path().join("in.bin");
    std::fs::write(&src, &data).expect("write");
    std::fs::create_dir(dir.path().join("tree")).expect("mkdir");
    std::fs::write(dir.path().join("tree/a.txt"), "alpha").expect("write");

    docker.ok(&[
        "cp",
        src.to_str().expect("path"),
        &format!("{name}:/tmp/in.bin"),
    ]);
    docker.ok(&[
        "cp",
        dir.path().join("tree").to_str().expect("path"),
        &format!("{name}:/tmp/"),
    ]);
    let out = dir.path().join("out.bin");
    docker.ok(&[
        "cp",
        &format!("{name}:/tmp/in.bin"),
        out.to_str().expect("path"),
    ]);
    let back = dir.path().join("back");
    docker.ok(&[
        "cp",
        &format!("{name}:/tmp/tree"),
        back.to_str().expect("path"),
    ]);
    docker.ok(&["rm", "-f", &name]);

    assert!(
        std::fs::read(&out).expect("read") == data,
        "round trip differs"
    );
    assert_eq!(
        std::fs::read_to_string(back.join("a.txt")).expect("read"),
        "alpha"
    );
}

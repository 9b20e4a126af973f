//! A hijack sent without `Upgrade` (curl, old clients): the gateway forwards it and streams the
//! engine's raw output back until the container exits. (stdin needs `Upgrade: tcp`, which the
//! docker CLI always sends.)

mod common;

use common::cli::{curl, Docker};
use common::gateway::{Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};

#[test]
fn attach_output_streams_back_until_the_container_exits() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), RULES);
    let admin = pki.client("admin");
    let docker = Docker::new(&gw.docker_host(), &admin);
    let name = unique("attach");
    docker.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        &test_image(),
        "sh",
        "-c",
        "echo one; sleep 1; echo two",
    ]);
    let out = curl(&admin)
        .args(["-N", "-X", "POST", "-D", "-"])
        .arg(gw.url(&format!(
            "/v1.41/containers/{name}/attach?logs=1&stream=1&stdout=1"
        )))
        .output()
        .expect("curl");
    docker.ok(&["rm", "-f", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/vnd.docker."),
        "{text}"
    );
    assert!(text.contains("one\n") && text.contains("two\n"), "{text}");
}

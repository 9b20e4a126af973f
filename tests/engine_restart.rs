//! With a real engine stopped and started under it: the gateway answers 502 with a Docker-style
//! message saying the engine is unreachable (which the docker CLI prints; the socket path is only
//! in the gateway's log) while the engine is down, keeps running, and serves again by itself once
//! the engine is back.

mod common;

use common::cli::{curl, Docker};
use common::engine::PrivateEngine;
use common::gateway::{Process, RULES};
use common::pki::Pki;

fn expect_502(gw: &Process, pki: &Pki, docker: &Docker, socket: &str) {
    let out = curl(&pki.client("admin"))
        .args(["-w", "\n%{http_code}"])
        .arg(gw.url("/v1.41/version"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').expect("status line");
    assert_eq!(code, "502", "{text}");
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("the Docker Engine is unreachable"),
        "{body}"
    );
    assert!(
        !body.contains(socket),
        "the socket path reached the client: {body}"
    );

    let out = docker.run(&["ps"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the Docker Engine is unreachable"),
        "the CLI shows the message: {stderr}"
    );
}

#[test]
fn engine_down_gives_502_and_the_gateway_recovers() {
    let dir = tempfile::Builder::new()
        .prefix("dg-engine")
        .tempdir()
        .expect("tempdir");
    let mut engine = PrivateEngine::new(dir.path());
    let socket = engine.socket.display().to_string();
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine.socket, RULES);
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));

    // Not started yet: no socket at all.
    expect_502(&gw, &pki, &docker, &socket);

    engine.start();
    docker.ok(&["ps"]);
    let version = docker.ok(&["version", "--format", "{{.Server.Version}}"]);
    assert!(!version.trim().is_empty());

    engine.stop();
    expect_502(&gw, &pki, &docker, &socket);

    engine.start();
    docker.ok(&["ps"]);
    engine.stop();
}

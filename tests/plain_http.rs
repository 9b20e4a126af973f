//! A client that speaks plain HTTP to the TLS port (the usual mistake: `tcp://` without
//! `--tlsverify`) gets Go's answer, "Client sent an HTTP request to an HTTPS server.", which the
//! docker CLI prints; nothing reaches the engine.

mod common;

use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_gets_a_400_that_says_why() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let url = format!("http://{}/_ping", gw.addr);
    let host = format!("tcp://{}", gw.addr);
    let (curl, docker) = tokio::task::spawn_blocking(move || {
        let curl = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
            .arg(&url)
            .output()
            .expect("curl");
        let docker = std::process::Command::new("timeout")
            .args(["60", "docker", "-H", &host, "version"])
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env(
                "DOCKER_CONFIG",
                std::env::temp_dir().join("dockgate-plain-http-test"),
            )
            .output()
            .expect("docker");
        (curl, docker)
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&curl.stdout);
    assert!(text.ends_with("\n400"), "{text}");
    assert!(
        text.contains("Client sent an HTTP request to an HTTPS server."),
        "{text}"
    );
    assert!(!docker.status.success());
    let stderr = String::from_utf8_lossy(&docker.stderr);
    assert!(
        stderr.contains("Client sent an HTTP request to an HTTPS server"),
        "{stderr}"
    );
    assert_eq!(engine.connections(), 0);
}

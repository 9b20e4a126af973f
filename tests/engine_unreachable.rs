//! When the engine's socket is missing, the gateway answers a Docker-style 502 saying the engine
//! is unreachable (without the socket path, see `engine_error_detail.rs`), keeps serving, and
//! recovers by itself once the engine is back. (The same against a real
//! engine being stopped and started is in `engine_restart.rs`.)

mod common;

use common::client::{get, request};
use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::Pki;

#[tokio::test(flavor = "multi_thread")]
async fn missing_socket_gives_502_then_recovers() {
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let missing = engine.socket.with_file_name("later.sock");
    let gw = InProcess::start(&pki, &missing, RULES).await;
    let admin = pki.client("admin");

    let reply = request(gw.addr, &pki, &admin, get("/_ping")).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.message(),
        "dockgate: the Docker Engine is unreachable: cannot connect to it"
    );

    // The engine comes up at the configured path.
    std::os::unix::fs::symlink(&engine.socket, &missing).expect("link");
    let reply = request(gw.addr, &pki, &admin, get("/_ping")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

//! A target check is pinned to the container it judged: the request goes on with the container's
//! full ID in place of the name it was sent with, so a rename or recreate between the check and
//! the request (another client renaming an admin's privileged container to the checked name)
//! cannot swap in another container. A name the engine does not know is answered with the
//! engine's own 404, not sent on under a name some container could take meanwhile. The real
//! engine cannot be made to rename at that instant, so a scripted engine answers the inspect
//! and records what reaches it.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use tokio::io::AsyncWriteExt;

use common::client::request;
use common::fake::{read_head, FakeEngine};
use common::gateway::Process;
use common::pki::Pki;

const ID: &str = "4f0b6f3c8d1e2a5b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";

const RULES: &str = r#"[[allow]]
cn = "ops"
access = "ops"

[profiles.ops]
allow = ["POST /containers/{id}/start", "PUT /containers/{id}/archive"]
"#;

/// An ordinary container as the engine describes it.
fn described() -> String {
    format!(
        r#"{{"Id":"{ID}","Name":"/web","Config":{{"Image":"busybox"}},"HostConfig":{{"NetworkMode":"default","CgroupnsMode":"host","MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"],"ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}}}"#
    )
}

/// Knows one container, `web`; records each request line it gets.
fn engine(seen: Arc<Mutex<Vec<String>>>) -> FakeEngine {
    FakeEngine::start(move |mut s| {
        let seen = seen.clone();
        async move {
            while let Some(head) = read_head(&mut s).await {
                let line = head.lines().next().unwrap_or_default().to_string();
                seen.lock().unwrap().push(line.clone());
                let (status, body) = if line.starts_with("GET /containers/web/json ") {
                    ("200 OK", described())
                } else if line.starts_with("GET ") {
                    let name = line.split('/').nth(2).unwrap_or_default();
                    (
                        "404 Not Found",
                        format!(r#"{{"message":"No such container: {name}"}}"#),
                    )
                } else {
                    ("204 No Content", String::new())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    })
}

fn post(path: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_acts_on_the_container_that_was_judged() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = engine(seen.clone());
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &fake.socket, RULES));
    let ops = pki.client("ops");

    let reply = request(gw.addr, &pki, &ops, post("/v1.41/containers/web/start")).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let reply = request(
        gw.addr,
        &pki,
        &ops,
        Request::put("/containers/web/archive?path=%2Ftmp&noOverwriteDirNonDir=1")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let lines = seen.lock().unwrap().clone();
    assert_eq!(
        lines,
        [
            "GET /containers/web/json HTTP/1.1".to_string(),
            format!("POST /v1.41/containers/{ID}/start HTTP/1.1"),
            "GET /containers/web/json HTTP/1.1".to_string(),
            format!("PUT /containers/{ID}/archive?path=%2Ftmp&noOverwriteDirNonDir=1 HTTP/1.1"),
        ],
        "what reached the engine"
    );

    // A name the engine does not know: its own 404, and nothing is sent on.
    seen.lock().unwrap().clear();
    let reply = request(gw.addr, &pki, &ops, post("/v1.41/containers/gone/start")).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert_eq!(reply.message(), "No such container: gone");
    assert_eq!(
        seen.lock().unwrap().clone(),
        ["GET /containers/gone/json HTTP/1.1"],
        "only the inspect reached the engine"
    );
    let end = tokio::task::block_in_place(|| {
        common::policy::audit_line(&gw, "ops", "POST", "/containers/gone/start")
    });
    assert_eq!(end["status"], 404, "{end}");
    assert_eq!(end["decision"], "allow", "{end}");
}

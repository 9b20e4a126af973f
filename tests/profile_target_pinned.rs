//! A target check is pinned to the container it judged: the request goes on with the container's
//! full ID in place of the name it was sent with, so a rename or recreate between the check and
//! the request (another client renaming an admin's privileged container to the checked name)
//! cannot swap in another container. A name the engine does not know (or finds ambiguous) is
//! answered with the engine's own error, not sent on under a name some container could take meanwhile. A create
//! body's `VolumesFrom` names cannot be pinned (the body goes on exactly as inspected), so the
//! container the engine makes from it is judged by its ID afterwards, and removed if another
//! container took the name in between, also when the client hangs up before the engine answers
//! the create, or the engine's answer cannot be read whole. The real engine cannot be made to rename at that instant, so a scripted engine answers and records what reaches it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

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
allow = ["POST /containers/{id}/start", "PUT /containers/{id}/archive", "POST /containers/create"]
[profiles.ops.containers]
volumes_from = true
"#;

/// The container the engine makes from a create with `"VolumesFrom":["data"]`.
const NEW_ID: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";

/// An ordinary container as the engine describes it.
fn described() -> String {
    described_as(ID, "[]")
}

/// A container `id` with `mounts` as the engine lists them.
fn described_as(id: &str, mounts: &str) -> String {
    format!(
        r#"{{"Id":"{id}","Name":"/web","Config":{{"Image":"busybox"}},"Mounts":{mounts},"HostConfig":{{"NetworkMode":"default","CgroupnsMode":"host","MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"],"ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}}}"#
    )
}

/// Knows `web` and `data`, two ordinary containers. A create is answered with `NEW_ID`, a
/// container that (as if `data` had been swapped for another container in between) got the
/// host's `/` bound in. Records each request line it gets.
fn engine(seen: Arc<Mutex<Vec<String>>>) -> FakeEngine {
    engine_slow(seen, Duration::ZERO)
}

/// `engine`, taking `create_time` to answer a create.
fn engine_slow(seen: Arc<Mutex<Vec<String>>>, create_time: Duration) -> FakeEngine {
    FakeEngine::start(move |mut s| {
        let seen = seen.clone();
        async move {
            while let Some(head) = read_head(&mut s).await {
                let line = head.lines().next().unwrap_or_default().to_string();
                seen.lock().unwrap().push(line.clone());
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                if tokio::io::AsyncReadExt::read_exact(&mut s, &mut body)
                    .await
                    .is_err()
                {
                    return;
                }
                let root = r#"[{"Type":"bind","Source":"/","Destination":"/host","RW":true}]"#;
                let (status, body) = if line.starts_with("GET /containers/web/json ")
                    || line.starts_with("GET /containers/data/json ")
                {
                    ("200 OK", described())
                } else if line.starts_with(&format!("GET /containers/{NEW_ID}/json ")) {
                    ("200 OK", described_as(NEW_ID, root))
                } else if line.starts_with("GET /containers/7/json ") {
                    (
                        "500 Internal Server Error",
                        r#"{"message":"Multiple IDs found with provided prefix: 7"}"#.to_string(),
                    )
                } else if line.starts_with("POST /v1.41/containers/create?name=huge ") {
                    let pad = "x".repeat(200 << 10);
                    (
                        "201 Created",
                        format!(r#"{{"Id":"{NEW_ID}","Warnings":["{pad}"]}}"#),
                    )
                } else if line.starts_with("POST /v1.41/containers/create ") {
                    tokio::time::sleep(create_time).await;
                    (
                        "201 Created",
                        format!(r#"{{"Id":"{NEW_ID}","Warnings":[]}}"#),
                    )
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

/// `METHOD target` with `body` (JSON, when there is one).
fn ask(method: &str, target: &str, body: &str) -> Request<Full<Bytes>> {
    let mut r = Request::builder()
        .method(method)
        .uri(target)
        .header("host", "localhost");
    if !body.is_empty() {
        r = r.header("content-type", "application/json");
    }
    r.body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

fn post(path: &str) -> Request<Full<Bytes>> {
    ask("POST", path, "")
}

/// A create whose body takes volumes from `data`.
const FROM_DATA: &str = r#"{"Image":"busybox","HostConfig":{"VolumesFrom":["data"]}}"#;

/// Whether the removal of `NEW_ID` reached the engine within `limit`.
fn removal_seen(seen: &Mutex<Vec<String>>, limit: Duration) -> bool {
    let removal = format!("DELETE /containers/{NEW_ID}?force=1&v=1 HTTP/1.1");
    tokio::task::block_in_place(|| {
        common::wait::until(limit, || {
            seen.lock().unwrap().contains(&removal).then_some(())
        })
    })
    .is_some()
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
    let archive = "/containers/web/archive?path=%2Ftmp&noOverwriteDirNonDir=1";
    let reply = request(gw.addr, &pki, &ops, ask("PUT", archive, "")).await;
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

    // An ID prefix the engine finds ambiguous: its own answer, as it would give it.
    seen.lock().unwrap().clear();
    let reply = request(gw.addr, &pki, &ops, post("/v1.41/containers/7/start")).await;
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_eq!(
        reply.message(),
        "Multiple IDs found with provided prefix: 7"
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        ["GET /containers/7/json HTTP/1.1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_made_from_a_swapped_volumes_from_source_is_removed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = engine(seen.clone());
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &fake.socket, RULES));
    let ops = pki.client("ops");

    let body = r#"{"Image":"busybox","HostConfig":{"VolumesFrom":["data:ro"]}}"#;
    let create = ask("POST", "/v1.41/containers/create", body);
    let reply = request(gw.addr, &pki, &ops, create).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(
        reply.message().contains("mounting the host path \"/\""),
        "{}",
        reply.text()
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        [
            "GET /containers/data/json HTTP/1.1".to_string(),
            "POST /v1.41/containers/create HTTP/1.1".to_string(),
            format!("GET /containers/{NEW_ID}/json HTTP/1.1"),
            format!("DELETE /containers/{NEW_ID}?force=1&v=1 HTTP/1.1"),
        ],
        "checked before, made, judged by its ID, removed"
    );
    let end = tokio::task::block_in_place(|| {
        common::policy::audit_line(&gw, "ops", "POST", "/containers/create")
    });
    assert_eq!(end["status"], 403, "{end}");
    assert_eq!(end["decision"], "deny", "{end}");
    assert_eq!(end["rule"], "profiles.ops.containers.bind_mounts", "{end}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_after_a_create_survives_the_client_hanging_up() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = engine_slow(seen.clone(), Duration::from_millis(800));
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &fake.socket, RULES));

    let mut tls = common::client::connect(gw.addr, &pki, &pki.client("ops")).await;
    let head = format!(
        "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{FROM_DATA}",
        FROM_DATA.len()
    );
    tls.write_all(head.as_bytes())
        .await
        .expect("send the create");
    tls.flush().await.expect("flush");
    // Gone while the engine is still making the container.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(tls);

    assert!(
        removal_seen(&seen, Duration::from_secs(15)),
        "the container made after the client left was not removed: {:?}",
        seen.lock().unwrap()
    );
    let end = tokio::task::block_in_place(|| {
        common::policy::audit_line(&gw, "ops", "POST", "/containers/create")
    });
    assert_eq!(end["decision"], "deny", "{end}");
    assert_eq!(end["rule"], "profiles.ops.containers.bind_mounts", "{end}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_answer_cannot_be_read_is_removed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = engine(seen.clone());
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &fake.socket, RULES));

    let create = ask("POST", "/v1.41/containers/create?name=huge", FROM_DATA);
    let reply = request(gw.addr, &pki, &pki.client("ops"), create).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert!(
        reply.message().contains("could not be read whole"),
        "{}",
        reply.text()
    );
    assert!(
        removal_seen(&seen, Duration::from_secs(10)),
        "{:?}",
        seen.lock().unwrap()
    );
}

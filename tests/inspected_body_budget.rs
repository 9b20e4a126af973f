//! Bodies held whole for inspection share one memory budget (`limits.max_inspected_total`) and
//! must arrive within `limits.body_timeout`: clients that send create heads and then hold their
//! bodies back fill the budget, the next create gets a Docker-style 503 naming the limit instead
//! of more memory, a held body that never completes gets a 408 naming the timeout, and the
//! budget comes back as bodies are forwarded or refused. The oracle for what reached the engine
//! is the engine's own list of containers.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::client::{answer, connect, Tls};
use common::gateway::Process;
use common::pki::{ClientCert, Pki};
use common::policy::containers_labelled;
use common::{engine_socket, test_image, unique};
use tokio::io::AsyncWriteExt;

const BODY: usize = 4096;

fn config() -> String {
    format!(
        r#"[limits]
max_inspected_body = {BODY}
max_inspected_total = {}
body_timeout = "20s"

[[allow]]
cn = "ci"
access = "ci"

[profiles.ci]
allow = ["read-only", "POST /containers/create"]
"#,
        2 * BODY
    )
}

/// A create body of exactly `BODY` bytes (padded with spaces, which JSON ignores).
fn create_body(image: &str, label: &str) -> Vec<u8> {
    let (k, v) = label.split_once('=').expect("label");
    let mut body =
        format!(r#"{{"Image":"{image}","Cmd":["true"],"Labels":{{"{k}":"{v}"}}}}"#).into_bytes();
    assert!(body.len() < BODY);
    body.resize(BODY, b' ');
    body
}

fn head(len: usize) -> Vec<u8> {
    format!(
        "POST /v1.41/containers/create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Whether the gateway has already answered a held body (it lost the budget to a probe).
async fn answered(tls: &mut Tls) -> bool {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    // Anything within the wait, an answer or the close after it, means it was answered.
    tokio::time::timeout(Duration::from_millis(50), tls.read(&mut byte))
        .await
        .is_ok()
}

/// Opens a connection and sends a create head and all of `body` but its last `held` bytes.
async fn begin(addr: SocketAddr, pki: &Pki, who: &ClientCert, body: &[u8], held: usize) -> Tls {
    let mut tls = connect(addr, pki, who).await;
    tls.write_all(&head(body.len())).await.expect("head");
    tls.write_all(&body[..body.len() - held])
        .await
        .expect("body");
    tls.flush().await.expect("flush");
    tls
}

#[test]
fn held_bodies_fill_the_budget_and_give_it_back() {
    let pki = Pki::new();
    let gw = Process::start(&pki, &engine_socket(), &config());
    let ci = pki.client("ci");
    let label = format!("dockgate-test={}", unique("budget"));
    let body = create_body(&test_image(), &label);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let lost = rt.block_on(async {
        // Two bodies of BODY bytes, one byte short each: the whole budget is held (for
        // limits.body_timeout, long enough for a slow machine to get through what follows).
        let began = std::time::Instant::now();
        let mut a = begin(gw.addr, &pki, &ci, &body, 1).await;
        let mut b = begin(gw.addr, &pki, &ci, &body, 1).await;
        // The next create finds no room, however small its body, until one of them is done.
        // The gateway may reach a held body only after a probe (each connection has its own
        // worker): the probe then goes through, and the held body, finding the probe's part
        // taken, is the one refused. Such a held body is begun again.
        let mut refused = None;
        let mut lost = 0;
        while refused.is_none() && began.elapsed() < Duration::from_secs(12) {
            let mut c = begin(gw.addr, &pki, &ci, &body, 0).await;
            let (status, text) = answer(&mut c).await;
            if status == 503 {
                refused = Some(text);
                continue;
            }
            assert_eq!(status, 201, "{text}");
            for held in [&mut a, &mut b] {
                if answered(held).await {
                    lost += 1;
                    *held = begin(gw.addr, &pki, &ci, &body, 1).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = refused.unwrap_or_else(|| {
            panic!(
                "a third body while two fill the budget gets a 503 (none in {:?}); on record: {:?}",
                began.elapsed(),
                gw.audit()
            )
        });
        assert!(
            text.contains("limits.max_inspected_total"),
            "the refusal names the limit: {text}"
        );
        assert!(
            text.contains("application/json") && text.contains(r#""message":"dockgate: "#),
            "Docker-style error: {text}"
        );

        // The first held body completes: it is inspected and forwarded, and gives its part back.
        a.write_all(&body[BODY - 1..]).await.expect("rest of a");
        let (status, text) = answer(&mut a).await;
        assert_eq!(status, 201, "a completed held body is forwarded: {text}");
        let mut c = begin(gw.addr, &pki, &ci, &body, 0).await;
        let (status, text) = answer(&mut c).await;
        assert_eq!(status, 201, "room again once a body has gone: {text}");

        // The second never completes: refused when limits.body_timeout runs out.
        let (status, text) = answer(&mut b).await;
        assert_eq!(status, 408, "{text}");
        assert!(text.contains("limits.body_timeout"), "{text}");
        // Its part of the budget is back: two full bodies fit at once again.
        let mut d = begin(gw.addr, &pki, &ci, &body, 1).await;
        let mut e = begin(gw.addr, &pki, &ci, &body, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        for tls in [&mut d, &mut e] {
            tls.write_all(&body[BODY - 1..]).await.expect("rest");
        }
        for tls in [&mut d, &mut e] {
            let (status, text) = answer(tls).await;
            assert_eq!(status, 201, "{text}");
        }
        lost
    });

    let created = containers_labelled(&engine_socket(), &label).len();
    let count = |status: u16| gw.audit().iter().filter(|l| l["status"] == status).count();
    assert_eq!(
        (count(503), count(408)),
        (1 + lost, 1),
        "one 503 (and one per held body that lost the budget to a probe) and one 408 on record: {:?}",
        gw.audit()
    );
    let allowed = gw.audit().iter().filter(|l| l["status"] == 201).count();
    assert_eq!(
        created, allowed,
        "every 201 is one container on the engine, nothing else reached it"
    );
    assert!(created >= 4, "a, c, d and e were created: {created}");
}

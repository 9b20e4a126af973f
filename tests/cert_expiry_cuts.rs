//! A client certificate's expiry ends its access at its notAfter, with nothing else happening:
//! a real `docker logs -f` opened with a short-lived certificate and an idle keep-alive
//! connection of the same certificate are both closed at notAfter (not before), and the audit log
//! has a `cut` event with reason `certificate_expired` for each.

mod common;

use std::time::{Duration, SystemTime};

use common::cli::{expect_line, Docker};
use common::client::{connect, read_to_close};
use common::gateway::Process;
use common::pki::{ClientSpec, Pki};
use common::{engine_socket, test_image, unique};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RULES: &str = "[[allow]]\ncn = \"admin\"\naccess = \"full\"\n\n[[allow]]\ncn = \"brief\"\naccess = \"full\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn expiry_cuts_keep_alive_connections_and_streams_at_not_after() {
    let pki = Pki::new();
    let gw = tokio::task::block_in_place(|| Process::start(&pki, &engine_socket(), RULES));
    let admin = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("expiry");
    tokio::task::block_in_place(|| admin.start_sleeper(&test_image(), &name, "still-here"));

    // Valid for a few more seconds (X.509 times have one-second precision).
    let mut spec = ClientSpec::new("brief");
    let not_after = time::OffsetDateTime::now_utc() + time::Duration::seconds(10);
    spec.not_after = not_after;
    let brief = pki.client_spec("brief", &spec);
    let not_after = SystemTime::from(not_after.replace_nanosecond(0).expect("ns"));

    let docker = Docker::new(&gw.docker_host(), &brief);
    let (mut logs, lines) = docker.follow_logs(&name);
    tokio::task::block_in_place(|| expect_line(&lines, "still-here"));

    let mut kept = connect(gw.addr, &pki, &brief).await;
    kept.write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);

    // The keep-alive connection is closed by the gateway, without a request from us.
    let closed = tokio::time::timeout(Duration::from_secs(30), read_to_close(&mut kept)).await;
    let closed_at = SystemTime::now();
    assert!(
        closed.is_ok(),
        "the keep-alive connection outlived its certificate"
    );
    assert!(
        closed_at >= not_after,
        "closed {:?} before notAfter",
        not_after.duration_since(closed_at).unwrap_or_default()
    );

    // And the stream: `docker logs -f` ends.
    let ended = common::wait::until(Duration::from_secs(30), || logs.try_wait().ok().flatten());
    let _ = logs.kill();
    assert!(ended.is_some(), "docker logs -f outlived its certificate");

    let cuts = common::wait::until(Duration::from_secs(10), || {
        let cuts: Vec<_> = gw
            .audit()
            .into_iter()
            .filter(|v| v["event"] == "cut" && v["client_cn"] == "brief")
            .collect();
        (cuts.len() >= 2).then_some(cuts)
    })
    .expect("two audit cut events for the expired certificate");
    for cut in &cuts {
        assert_eq!(cut["reason"], "certificate_expired", "{cut}");
    }
    // The logs stream's own record ends as cut, not as complete.
    let stream_end = gw
        .audit()
        .into_iter()
        .find(|v| {
            v["event"] == "end"
                && v["client_cn"] == "brief"
                && v["path"].as_str().is_some_and(|p| p.ends_with("/logs"))
        })
        .expect("the end event of the logs stream");
    assert_eq!(stream_end["outcome"], "cut", "{stream_end}");
    assert_eq!(stream_end["reason"], "certificate_expired");

    tokio::task::block_in_place(|| admin.ok(&["rm", "-f", &name]));
}

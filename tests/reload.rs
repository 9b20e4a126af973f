//! SIGHUP reloads certificates and rules in place: new handshakes present a rotated server
//! certificate while an open keep-alive connection and an open `docker logs -f` keep working; a
//! broken certificate or rule leaves the running state in force and serving goes on; a client
//! removed from `[[allow]]` loses the connection it opened before the reload, at the reload; and no TLS session is resumed, so nobody skips the new verification.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::cli::Docker;
use common::client::{config, connect_with, get};
use common::gateway::{write_config, Process, RULES};
use common::pki::Pki;
use common::{engine_socket, test_image, unique};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// Fingerprint of the certificate the gateway presents to a new connection.
async fn presented(gw: &Process, pki: &Pki) -> String {
    let tls = connect_with(gw.addr, config(pki, Some(&pki.client("admin"))))
        .await
        .expect("handshake");
    let der = tls.get_ref().1.peer_certificates().expect("server cert")[0].to_vec();
    dockgate::tls::fingerprint(&der)
}

fn pem_fingerprint(pem: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    dockgate::tls::fingerprint(
        &rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem"),
    )
}

async fn keep_alive(gw: &Process, pki: &Pki, who: &str) -> SendRequest<Full<Bytes>> {
    let tls = connect_with(gw.addr, config(pki, Some(&pki.client(who))))
        .await
        .expect("handshake");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http");
    tokio::spawn(conn);
    sender
}

/// Whether the gateway has closed the connection (its client lost access).
async fn closed(sender: &mut SendRequest<Full<Bytes>>) -> bool {
    match sender.ready().await {
        Err(_) => true,
        Ok(()) => sender.send_request(get("/_ping")).await.is_err(),
    }
}

async fn status(sender: &mut SendRequest<Full<Bytes>>) -> u16 {
    sender.ready().await.expect("connection still open");
    let resp = sender
        .send_request(get("/v1.41/containers/json"))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    resp.into_body().collect().await.expect("body");
    status
}

fn reload(gw: &Process, expect: &str) {
    let before = gw.logs().len();
    gw.signal("HUP");
    gw.wait_log_after(before, expect);
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_rotates_certificates_and_rules_without_dropping_anyone() {
    let pki = Pki::new();
    let config_path = write_config(&pki, &engine_socket(), RULES);
    let gw = tokio::task::block_in_place(|| Process::start_with_config(&config_path));
    let original = presented(&gw, &pki).await;
    assert_eq!(
        original,
        pem_fingerprint(&std::fs::read_to_string(&pki.server_cert).expect("read"))
    );

    let mut admin_conn = keep_alive(&gw, &pki, "admin").await;
    let mut reader_conn = keep_alive(&gw, &pki, "reader").await;
    assert_eq!(status(&mut admin_conn).await, 200);
    assert_eq!(status(&mut reader_conn).await, 200);

    // An open `docker logs -f`.
    let docker = Docker::new(&gw.docker_host(), &pki.client("admin"));
    let name = unique("reload");
    let image = test_image();
    tokio::task::block_in_place(|| docker.start_sleeper(&image, &name, "first"));
    let (mut follow, rx) = docker.follow_logs(&name);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30))
            .expect("first line"),
        "first"
    );

    // 1. Rotate the server certificate.
    let (cert, key) = pki.new_server_pair();
    std::fs::write(&pki.server_cert, &cert).expect("write");
    std::fs::write(&pki.server_key, &key).expect("write");
    tokio::task::block_in_place(|| reload(&gw, "configuration reloaded"));
    assert_eq!(
        presented(&gw, &pki).await,
        pem_fingerprint(&cert),
        "new handshakes present the new certificate"
    );
    assert_eq!(
        status(&mut admin_conn).await,
        200,
        "the keep-alive connection survived"
    );
    let direct = common::cli::docker_direct(
        &engine_socket(),
        &["exec", &name, "sh", "-c", "echo second > /proc/1/fd/1"],
    );
    assert!(direct.status.success());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30))
            .expect("second line"),
        "second",
        "logs -f survived"
    );

    // 2. A broken certificate: the last good state stays.
    std::fs::write(
        &pki.server_cert,
        "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    tokio::task::block_in_place(|| reload(&gw, "reload failed"));
    assert_eq!(presented(&gw, &pki).await, pem_fingerprint(&cert));
    assert_eq!(status(&mut admin_conn).await, 200);
    std::fs::write(&pki.server_cert, &cert).expect("write");

    // 3. A broken rule: the same.
    let good = std::fs::read_to_string(&config_path).expect("read");
    std::fs::write(
        &config_path,
        good.replace("access = \"read-only\"", "access = \"readonly\""),
    )
    .expect("write");
    tokio::task::block_in_place(|| reload(&gw, "reload failed"));
    assert_eq!(
        status(&mut reader_conn).await,
        200,
        "old rules still in force"
    );

    // 4. The reader is removed: its open connection is closed by the reload.
    let without_reader = good.replace("[[allow]]\ncn = \"reader\"\naccess = \"read-only\"\n", "");
    assert_ne!(without_reader, good);
    std::fs::write(&config_path, without_reader).expect("write");
    tokio::task::block_in_place(|| reload(&gw, "configuration reloaded"));
    assert!(
        closed(&mut reader_conn).await,
        "a removed client kept its open connection"
    );
    assert_eq!(status(&mut admin_conn).await, 200);

    // 5. No resumption: a client that offers its session ticket still gets a full handshake.
    let resuming = Arc::new(config(&pki, Some(&pki.client("admin"))));
    for _ in 0..2 {
        let tcp = tokio::net::TcpStream::connect(gw.addr)
            .await
            .expect("connect");
        let tls = tokio_rustls::TlsConnector::from(resuming.clone())
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").expect("name"),
                tcp,
            )
            .await
            .expect("handshake");
        assert_eq!(
            tls.get_ref().1.handshake_kind(),
            Some(rustls::HandshakeKind::Full)
        );
    }

    assert!(
        follow.try_wait().expect("try_wait").is_none(),
        "logs -f ended"
    );
    let _ = follow.kill();
    let _ = follow.wait();
    tokio::task::block_in_place(|| docker.ok(&["rm", "-f", &name]));
}

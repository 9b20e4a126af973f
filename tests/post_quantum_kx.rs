//! The gateway offers the hybrid post-quantum key exchange X25519MLKEM768 (what Go 1.24+ clients
//! offer first) and prefers it, with X25519 and the NIST curves for everyone else: a client that
//! offers only X25519MLKEM768 completes a mutual-TLS handshake and a request, and one that offers
//! only X25519 (the docker CLI 28 offers X25519, P-256, P-384, P-521) gets X25519.

mod common;

use std::sync::Arc;

use common::fake::FakeEngine;
use common::gateway::{InProcess, RULES};
use common::pki::{ClientCert, Pki};
use rustls::crypto::SupportedKxGroup;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, NamedGroup, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn offering(
    pki: &Pki,
    who: &ClientCert,
    groups: Vec<&'static dyn SupportedKxGroup>,
) -> ClientConfig {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups = groups;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca_path).expect("ca"))
        .expect("root");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(who.cert())
        .expect("cert")
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(who.key()).expect("key");
    ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth")
}

/// Handshake, one `GET /_ping`, and the group the handshake used.
async fn ping_with(addr: std::net::SocketAddr, cfg: ClientConfig) -> (NamedGroup, String) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut tls = TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    let group = tls
        .get_ref()
        .1
        .negotiated_key_exchange_group()
        .expect("a key exchange group")
        .name();
    tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    (group, String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn post_quantum_key_exchange_is_offered_and_x25519_remains() {
    use rustls::crypto::aws_lc_rs::kx_group;
    let pki = Pki::new();
    let engine = FakeEngine::ok();
    let gw = InProcess::start(&pki, &engine.socket, RULES).await;
    let who = pki.client("reader");

    let (group, reply) = ping_with(
        gw.addr,
        offering(&pki, &who, vec![kx_group::X25519MLKEM768]),
    )
    .await;
    assert_eq!(group, NamedGroup::X25519MLKEM768);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let (group, reply) = ping_with(gw.addr, offering(&pki, &who, vec![kx_group::X25519])).await;
    assert_eq!(group, NamedGroup::X25519);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    // Offered both with the hybrid first, as Go 1.24 does: the hybrid is used. (Offered the
    // other way round, the server takes the X25519 key share it was sent rather than ask for
    // another one with a HelloRetryRequest.)
    let (group, _) = ping_with(
        gw.addr,
        offering(&pki, &who, vec![kx_group::X25519MLKEM768, kx_group::X25519]),
    )
    .await;
    assert_eq!(group, NamedGroup::X25519MLKEM768);
}

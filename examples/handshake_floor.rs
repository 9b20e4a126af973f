//! The physical floor of a full mutual-TLS 1.3 handshake on this CPU: client and server in
//! memory (no sockets, one thread), timing only the server's side. Measured twice: with rustls'
//! own `WebPkiClientVerifier` (ring), and with dockgate's server configuration (its verifier,
//! settings and aws-lc-rs provider; no CRL, as the benchmark runs it). The client offers one
//! group.
//!
//! usage: cargo run --release --example handshake_floor -- PKI_DIR [N] [x25519|p256|x25519mlkem768]
//! PKI_DIR is what `dockgate certs init --dir PKI_DIR --client bench` makes. Prints one JSON
//! object: server CPU microseconds per handshake (median of 5 batches) for each configuration.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

fn provider(group: &str) -> rustls::crypto::CryptoProvider {
    let mut p = rustls::crypto::ring::default_provider();
    p.kx_groups = match group {
        "p256" => vec![rustls::crypto::ring::kx_group::SECP256R1],
        "x25519mlkem768" => vec![rustls::crypto::aws_lc_rs::kx_group::X25519MLKEM768],
        _ => vec![rustls::crypto::ring::kx_group::X25519],
    };
    p
}

fn roots(pki: &Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for c in dockgate::tls::load_certs(&pki.join("ca.pem")).expect("ca.pem") {
        roots.add(c).expect("CA");
    }
    roots
}

fn client_config(pki: &Path, group: &str) -> Arc<ClientConfig> {
    let bundle = pki.join("clients/bench");
    let certs = dockgate::tls::load_certs(&bundle.join("cert.pem")).expect("client cert");
    let key = dockgate::tls::load_key(&bundle.join("key.pem")).expect("client key");
    let mut c = ClientConfig::builder_with_provider(Arc::new(provider(group)))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots(pki))
        .with_client_auth_cert(certs, key)
        .expect("client auth");
    c.resumption = Resumption::disabled();
    Arc::new(c)
}

fn plain_server(pki: &Path, group: &str) -> Arc<ServerConfig> {
    let p = Arc::new(provider(group));
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(pki)), p.clone())
        .build()
        .expect("verifier");
    let certs = dockgate::tls::load_certs(&pki.join("server-cert.pem")).expect("server cert");
    let key = dockgate::tls::load_key(&pki.join("server-key.pem")).expect("server key");
    let mut s = ServerConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("server config");
    s.send_tls13_tickets = 0;
    Arc::new(s)
}

fn dockgate_server(pki: &Path) -> Arc<ServerConfig> {
    let files = dockgate::config::TlsFiles {
        ca: pki.join("ca.pem"),
        cert: pki.join("server-cert.pem"),
        key: pki.join("server-key.pem"),
        // As the benchmark runs the gateway: no CRL configured.
        crl: Vec::new(),
        watch: false,
    };
    dockgate::tls::setup(&files)
        .expect("dockgate TLS setup")
        .config
}

/// Moves every pending TLS byte from `from` to `to`.
fn pump(from: &mut dyn FnMut(&mut Vec<u8>), to: &mut dyn FnMut(&[u8]), buf: &mut Vec<u8>) {
    buf.clear();
    from(buf);
    if !buf.is_empty() {
        to(buf);
    }
}

/// One full handshake; returns the time spent in the server's calls.
fn handshake(client_cfg: &Arc<ClientConfig>, server_cfg: &Arc<ServerConfig>) -> Duration {
    let name = ServerName::try_from("localhost").expect("name");
    let mut client = ClientConnection::new(client_cfg.clone(), name).expect("client");
    let t = Instant::now();
    let mut server = ServerConnection::new(server_cfg.clone()).expect("server");
    let mut in_server = t.elapsed();
    let mut buf = Vec::with_capacity(16 * 1024);
    for _ in 0..10 {
        // client -> server
        pump(
            &mut |b| {
                client.write_tls(b).expect("client write");
            },
            &mut |b| {
                let t = Instant::now();
                let mut r: &[u8] = b;
                while !r.is_empty() {
                    server.read_tls(&mut r).expect("server read");
                    server.process_new_packets().expect("server process");
                }
                in_server += t.elapsed();
            },
            &mut buf,
        );
        // server -> client
        pump(
            &mut |b| {
                let t = Instant::now();
                server.write_tls(b).expect("server write");
                in_server += t.elapsed();
            },
            &mut |b| {
                let mut r: &[u8] = b;
                while !r.is_empty() {
                    client.read_tls(&mut r).expect("client read");
                    client.process_new_packets().expect("client process");
                }
            },
            &mut buf,
        );
        if !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    assert!(!server.is_handshaking(), "the handshake did not finish");
    // The server has verified the client: prove the channel works.
    client.writer().write_all(b"ping").expect("write");
    let mut b = Vec::new();
    client.write_tls(&mut b).expect("tls");
    let mut r: &[u8] = &b;
    server.read_tls(&mut r).expect("read");
    server.process_new_packets().expect("process");
    let mut got = [0u8; 4];
    server.reader().read_exact(&mut got).expect("plaintext");
    assert_eq!(&got, b"ping");
    in_server
}

fn measure(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>, n: usize) -> f64 {
    for _ in 0..50 {
        handshake(client, server);
    }
    let mut batches = Vec::new();
    for _ in 0..5 {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            total += handshake(client, server);
        }
        batches.push(total.as_secs_f64() * 1e6 / n as f64);
    }
    batches.sort_by(|a, b| a.partial_cmp(b).expect("number"));
    batches[2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let pki = std::path::PathBuf::from(
        args.next()
            .expect("usage: handshake_floor PKI_DIR [N] [group]"),
    );
    let n: usize = args.next().map(|s| s.parse().expect("N")).unwrap_or(2000);
    let group = args.next().unwrap_or_else(|| "x25519".into());
    let client = client_config(&pki, &group);
    let plain = measure(&client, &plain_server(&pki, &group), n);
    let ours = measure(&client, &dockgate_server(&pki), n);
    println!(
        "{{\"mode\":\"handshake_floor\",\"group\":\"{group}\",\"handshakes\":{n},\"rustls_webpki_server_us\":{plain:.1},\"dockgate_config_server_us\":{ours:.1}}}"
    );
}

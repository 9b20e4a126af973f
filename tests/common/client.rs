//! TLS and HTTP clients for talking to the gateway from tests, with full control of the bytes.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::pki::{ClientCert, Pki};

pub type Tls = TlsStream<TcpStream>;

/// A client config trusting the test CA and presenting `client` (if any).
pub fn config(pki: &Pki, client: Option<&ClientCert>) -> ClientConfig {
    config_with(
        pki,
        client,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
}

pub fn config_with(
    pki: &Pki,
    client: Option<&ClientCert>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca_path).expect("ca"))
        .expect("root");
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots);
    let mut cfg = match client {
        Some(c) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(c.cert())
                .expect("cert")
                .collect::<Result<_, _>>()
                .expect("cert");
            let key = PrivateKeyDer::from_pem_file(c.key()).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg
}

/// A client config from a `DOCKER_CERT_PATH` bundle alone: its ca.pem, cert.pem and key.pem.
pub fn config_for_bundle(bundle: &ClientCert) -> ClientConfig {
    config_trusting(&bundle.ca(), bundle)
}

/// A client config presenting `who`'s certificate and trusting every CA in the PEM file `cas`.
pub fn config_trusting(cas: &std::path::Path, who: &ClientCert) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(cas).expect("ca bundle") {
        roots.add(ca.expect("ca")).expect("root");
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(who.cert())
        .expect("cert")
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(who.key()).expect("key");
    let mut cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .expect("client auth");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg
}

/// Connects and completes the TLS handshake (under TLS 1.3 a refused client certificate may only
/// show on the first read).
pub async fn connect_with(addr: SocketAddr, cfg: ClientConfig) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
}

pub async fn connect(addr: SocketAddr, pki: &Pki, client: &ClientCert) -> Tls {
    connect_with(addr, config(pki, Some(client)))
        .await
        .expect("TLS handshake")
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn message(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("JSON error body");
        v["message"].as_str().expect("message").to_string()
    }
}

/// Sends one request over a fresh connection and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    pki: &Pki,
    client: &ClientCert,
    req: Request<Full<Bytes>>,
) -> Reply {
    let tls = connect(addr, pki, client).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http handshake");
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.expect("response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// Reads a whole answer on a connection the gateway closes after it (30 s at most): its status
/// and its text.
pub async fn answer(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> (u16, String) {
    let (out, _) = tokio::time::timeout(std::time::Duration::from_secs(30), read_to_close(stream))
        .await
        .expect("the gateway answers and closes");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

/// Reads until the peer closes or `limit` bytes; returns what arrived and how it ended.
pub async fn read_to_close(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
) -> (Vec<u8>, std::io::Result<()>) {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// Sends `GET /_ping` on a kept-alive connection and reads the whole reply, head and body (by
/// its `Content-Length`, or to the last chunk), so that the next request's reply starts clean;
/// `None` when the connection failed or closed before a reply.
pub async fn ping_kept(tls: &mut Tls) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf).await.ok()?;
        if n == 0 {
            return (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&buf[..n]);
        if reply_complete(&out) || out.len() > 1 << 16 {
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
    }
}

/// Whether `bytes` hold a whole HTTP/1.1 reply.
fn reply_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let body = &bytes[end + 4..];
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => body.len() >= n,
        None if head.contains("transfer-encoding: chunked") => body.ends_with(b"0\r\n\r\n"),
        None => true,
    }
}

/// [`ping_kept`] answered 200.
pub async fn ping_ok(tls: &mut Tls) -> bool {
    ping_kept(tls)
        .await
        .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
}

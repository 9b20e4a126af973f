//! `dockgate doctor`: connect the way the docker CLI would, and explain in one plain sentence
//! each failure it can tell apart.
//!
//! What can be told apart, and how: an unreachable server (TCP); a server certificate that this
//! client's `ca.pem` does not trust, that does not name the host, or that has expired (this
//! client verifies it); a refused client certificate, from the TLS alert the gateway sends
//! (missing → certificate_required, expired or not yet valid → certificate_expired, revoked →
//! certificate_revoked, wrong CA → unknown_ca, wrong key usage or a CA certificate →
//! unsupported_certificate), sharpened by reading the local certificate; refusal by the rules and
//! the engine being down, from the gateway's own answers (`/_dockgate/whoami`, 403, 502).
//! What cannot: unknown_ca is also what an expired revocation list on the gateway produces, and
//! the gateway's alerts say nothing more than their code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Where to connect and with what.
#[derive(Debug, Clone)]
pub struct Options {
    /// `tcp://host:port`, `host:port` or `host` (port 2376).
    pub host: String,
    /// A folder with ca.pem, cert.pem and key.pem (`DOCKER_CERT_PATH`).
    pub cert_path: PathBuf,
    pub timeout: Duration,
}

/// The doctor's findings, in order; `ok` when nothing is wrong.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub ok: bool,
}

impl Report {
    fn say(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
    fn fail(mut self, s: impl Into<String>) -> Report {
        self.lines.push(format!("PROBLEM: {}", s.into()));
        self.ok = false;
        self
    }
}

/// `host:port` and the name to verify, from a DOCKER_HOST-style address.
pub fn parse_host(host: &str) -> Result<(String, u16), String> {
    let rest = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("https://"))
        .unwrap_or(host)
        .trim_end_matches('/');
    if rest.is_empty() || host.starts_with("unix://") || host.starts_with("ssh://") {
        return Err(format!("`{host}` is not a tcp://HOST:PORT address"));
    }
    if let Some(v6) = rest.strip_prefix('[') {
        let (ip, port) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{host}`: unclosed `[`"))?;
        let port = match port.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("`{host}`: bad port"))?,
            None => 2376,
        };
        return Ok((ip.to_string(), port));
    }
    match rest.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_string(),
            p.parse().map_err(|_| format!("`{host}`: bad port"))?,
        )),
        None => Ok((rest.to_string(), 2376)),
    }
}

/// Wraps the WebPKI server verifier to keep the certificate the server presented, so that a
/// name mismatch can list the names it does have.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Option<Vec<u8>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(end_entity.to_vec());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// What the local client certificate says about itself.
struct Local {
    subject: String,
    not_before: String,
    not_after: String,
    expired: bool,
    not_yet_valid: bool,
    client_auth: bool,
    is_ca: bool,
}

fn local_cert(der: &[u8]) -> Option<Local> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Some(Local {
        subject: c.subject().to_string(),
        not_before: c.validity().not_before.to_string(),
        not_after: c.validity().not_after.to_string(),
        expired: c.validity().not_after.timestamp() < now,
        not_yet_valid: c.validity().not_before.timestamp() > now,
        client_auth: matches!(c.extended_key_usage(), Ok(Some(e)) if e.value.client_auth),
        is_ca: matches!(c.basic_constraints(), Ok(Some(b)) if b.value.ca),
    })
}

fn server_names(der: &[u8]) -> (Vec<String>, String) {
    let Ok((_, c)) = X509Certificate::from_der(der) else {
        return (Vec::new(), String::new());
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => names.extend(
                        <[u8; 4]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                    ),
                    16 => names.extend(
                        <[u8; 16]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    (names, c.validity().not_after.to_string())
}

fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
            }
        }
        cur = err.source();
    }
    None
}

/// Runs the diagnosis.
pub async fn run(opts: &Options) -> Report {
    let mut r = Report {
        ok: true,
        ..Report::default()
    };
    let (host, port) = match parse_host(&opts.host) {
        Ok(hp) => hp,
        Err(e) => return r.fail(e),
    };
    let dir = &opts.cert_path;
    r.say(format!(
        "gateway {host}:{port}, certificates from {}",
        dir.display()
    ));

    // The CA this client trusts for the server.
    let ca_path = dir.join("ca.pem");
    let mut roots = RootCertStore::empty();
    match crate::tls::load_certs(&ca_path) {
        Ok(cas) => {
            for ca in cas {
                if roots.add(ca).is_err() {
                    return r.fail(format!(
                        "{} holds a certificate that is not a usable CA",
                        ca_path.display()
                    ));
                }
            }
        }
        Err(e) => {
            return r.fail(format!(
                "cannot use {}: {}",
                ca_path.display(),
                crate::check::error_chain(&e)
            ))
        }
    }

    // The client certificate, if there is one.
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut local = None;
    let client = if cert_file.exists() || key_file.exists() {
        let chain = match crate::tls::load_certs(&cert_file) {
            Ok(c) => c,
            Err(e) => {
                return r.fail(format!(
                    "cannot use {}: {}",
                    cert_file.display(),
                    crate::check::error_chain(&e)
                ))
            }
        };
        let key = match crate::tls::load_key(&key_file) {
            Ok(k) => k,
            Err(e) => {
                return r.fail(format!(
                    "cannot use {}: {}",
                    key_file.display(),
                    crate::check::error_chain(&e)
                ))
            }
        };
        local = chain.first().and_then(|c| local_cert(c));
        if let Some(l) = &local {
            r.say(format!(
                "client certificate: {} (valid {} to {})",
                l.subject, l.not_before, l.not_after
            ));
        }
        Some((chain, key))
    } else {
        r.say(format!(
            "no client certificate in {} (cert.pem, key.pem)",
            dir.display()
        ));
        None
    };

    let provider = crate::tls::provider();
    let seen = Arc::new(Mutex::new(None));
    let inner = match WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
    {
        Ok(v) => v,
        Err(e) => return r.fail(format!("cannot use {}: {e}", ca_path.display())),
    };
    let builder =
        match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => b
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Recording {
                    inner,
                    seen: seen.clone(),
                })),
            Err(e) => return r.fail(format!("TLS setup: {e}")),
        };
    let mut config = match client {
        Some((chain, key)) => match builder.with_client_auth_cert(chain, key) {
            Ok(c) => c,
            Err(e) => {
                return r.fail(format!(
                    "{} does not belong to {} ({e})",
                    key_file.display(),
                    cert_file.display()
                ))
            }
        },
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    // 1. TCP.
    let addr = format!("{host}:{port}");
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        addr
    };
    let tcp = match tokio::time::timeout(opts.timeout, TcpStream::connect(&addr)).await {
        Err(_) => {
            return r.fail(format!(
                "the gateway at {addr} is unreachable: no answer within {:?}",
                opts.timeout
            ))
        }
        Ok(Err(e)) => return r.fail(format!("the gateway at {addr} is unreachable: {e}")),
        Ok(Ok(t)) => t,
    };
    let peer: Option<SocketAddr> = tcp.peer_addr().ok();
    r.say(format!(
        "reached {}",
        peer.map(|p| p.to_string()).unwrap_or(addr.clone())
    ));

    // 2. TLS: this side checks the server.
    let name = match ServerName::try_from(host.clone()) {
        Ok(n) => n,
        Err(_) => return r.fail(format!("`{host}` is not a valid host name")),
    };
    let presented = || seen.lock().ok().and_then(|s| s.clone());
    let tls = match tokio::time::timeout(
        opts.timeout,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    {
        Err(_) => return r.fail("the TLS handshake did not finish in time: is this a TLS port?"),
        Ok(Err(e)) => return diagnose(r, &e, &host, presented(), local.as_ref(), &ca_path),
        Ok(Ok(t)) => t,
    };

    // 3. HTTP: the gateway checks this client (under TLS 1.3 its verdict arrives now).
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(tls)).await {
        Ok(x) => x,
        Err(e) => return diagnose(r, &e, &host, presented(), local.as_ref(), &ca_path),
    };
    // The TLS alert that refuses this client ends the connection task; its error is the one to
    // explain (the request itself only sees "channel closed").
    let mut conn_task = Some(tokio::spawn(conn));
    let get = |path: &str| {
        hyper::Request::get(path)
            .header("host", host.as_str())
            .header("user-agent", "dockgate-doctor")
            .body(Full::new(Bytes::new()))
    };
    let mut fetch = async |path: &str| -> Result<(u16, serde_json::Value), hyper::Error> {
        let Ok(req) = get(path) else {
            return Ok((0, serde_json::Value::Null));
        };
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        ))
    };
    let whoami = match tokio::time::timeout(opts.timeout, fetch("/_dockgate/whoami")).await {
        Err(_) => return r.fail("the gateway did not answer in time"),
        Ok(Err(e)) => {
            if let Some(task) = conn_task.take() {
                if let Ok(Ok(Err(conn_err))) = tokio::time::timeout(opts.timeout, task).await {
                    return diagnose(r, &conn_err, &host, presented(), local.as_ref(), &ca_path);
                }
            }
            return diagnose(r, &e, &host, presented(), local.as_ref(), &ca_path);
        }
        Ok(Ok(w)) => w,
    };
    match whoami {
        (200, id) => {
            let who = format!(
                "CN={}, fingerprint {}",
                id["cn"].as_str().unwrap_or("-"),
                id["fingerprint"].as_str().unwrap_or("?")
            );
            match id["access"].as_str() {
                Some(access) => r.say(format!("the gateway knows you as {who}, with {access} access")),
                None => {
                    return r.fail(format!(
                        "access denied by the gateway's rules: no [[allow]] entry matches your certificate ({who})"
                    ))
                }
            }
        }
        (403, body) => {
            return r.fail(format!(
                "the gateway refused you: {}",
                body["message"].as_str().unwrap_or("403")
            ))
        }
        (404, _) => r.say(
            "this server has no /_dockgate/whoami: not a dockgate gateway (dockerd --tlsverify?)",
        ),
        (status, body) => r.say(format!("/_dockgate/whoami answered {status}: {body}")),
    }

    // 4. The engine behind it.
    match tokio::time::timeout(opts.timeout, fetch("/version")).await {
        Err(_) => r.fail("the engine did not answer /version in time"),
        Ok(Err(e)) => r.fail(format!("the connection failed: {e}")),
        Ok(Ok((200, v))) => {
            r.say(format!(
                "OK: Docker Engine {} (API {}, {}/{}) is reachable through the gateway",
                v["Version"].as_str().unwrap_or("?"),
                v["ApiVersion"].as_str().unwrap_or("?"),
                v["Os"].as_str().unwrap_or("?"),
                v["Arch"].as_str().unwrap_or("?")
            ));
            r
        }
        Ok(Ok((502, body))) => r.fail(format!(
            "the gateway works, but the Docker Engine behind it is down: {}",
            body["message"].as_str().unwrap_or("502 Bad Gateway")
        )),
        Ok(Ok((403, body))) => r.fail(format!(
            "access denied by the gateway's rules: {}",
            body["message"].as_str().unwrap_or("403")
        )),
        Ok(Ok((status, body))) => r.fail(format!("/version answered {status}: {body}")),
    }
}

fn diagnose(
    r: Report,
    e: &(dyn std::error::Error + 'static),
    host: &str,
    presented: Option<Vec<u8>>,
    local: Option<&Local>,
    ca_path: &Path,
) -> Report {
    let Some(tls) = find_rustls_error(e) else {
        return r.fail(format!(
            "the connection failed: {}",
            crate::check::error_chain(e)
        ));
    };
    use rustls::Error as E;
    let local_hint = |l: Option<&Local>| -> String {
        match l {
            Some(l) if l.expired => format!(" Your certificate expired on {}.", l.not_after),
            Some(l) if l.not_yet_valid => {
                format!(" Your certificate is valid only from {}.", l.not_before)
            }
            _ => String::new(),
        }
    };
    let sentence = match tls {
        E::InvalidCertificate(ce) => match ce {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the server's certificate is not signed by the CA in {}: you have another gateway's ca.pem, or the server uses another certificate",
                ca_path.display()
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let (names, _) = presented.as_deref().map(server_names).unwrap_or_default();
                format!(
                    "`{host}` is not in the server's certificate, which is valid for: {}; connect with one of those names, or re-issue the server certificate with --host/--ip",
                    names.join(", ")
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                let (_, until) = presented.as_deref().map(server_names).unwrap_or_default();
                format!("the server's certificate expired on {until}; renew it on the gateway (dockgate certs issue --server --force)")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check the clocks)".to_string()
            }
            other => format!("the server's certificate is not acceptable: {other:?}"),
        },
        E::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => {
                "the gateway requires a client certificate and none was sent: put cert.pem and key.pem next to ca.pem".to_string()
            }
            AlertDescription::HandshakeFailure if local.is_none() => {
                "the gateway requires a client certificate and none was sent: put cert.pem and key.pem next to ca.pem".to_string()
            }
            AlertDescription::CertificateExpired => format!(
                "the gateway refused your client certificate: it has expired or is not valid yet.{}",
                local_hint(local)
            ),
            AlertDescription::CertificateRevoked => {
                "the gateway refused your client certificate: it has been revoked; ask for a new one".to_string()
            }
            AlertDescription::UnknownCA => {
                "the gateway refused your client certificate: it is not issued by a CA the gateway trusts (or the gateway's revocation list covering it has expired)".to_string()
            }
            AlertDescription::UnsupportedCertificate => match local {
                Some(l) if l.is_ca => "the gateway refused your client certificate: it is a CA certificate, not a client certificate".to_string(),
                Some(l) if !l.client_auth => "the gateway refused your client certificate: it lacks the clientAuth extended key usage (TLS Web Client Authentication)".to_string(),
                _ => "the gateway refused your client certificate: wrong key usage (it must be a client certificate with the clientAuth extended key usage)".to_string(),
            },
            other => format!("the gateway refused your client certificate (TLS alert {other:?}).{}", local_hint(local)),
        },
        other => format!("TLS failed: {other}"),
    };
    r.fail(sentence)
}

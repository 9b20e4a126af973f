//! `dockgate check`: load everything `serve` would load, ping the engine, and say what is wrong
//! (like `nginx -t`).

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::Config;

/// The result of pinging the engine.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("cannot connect to the Docker Engine at {}", socket.display())]
    Connect {
        socket: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Docker Engine at {} did not answer /_ping within {timeout:?}", socket.display())]
    Timeout {
        socket: std::path::PathBuf,
        timeout: Duration,
    },
    #[error("the Docker Engine at {} answered /_ping with `{status_line}`", socket.display())]
    Status {
        socket: std::path::PathBuf,
        status_line: String,
    },
}

/// Sends `GET /_ping` to the engine and returns its `Api-Version` header, if any.
pub async fn ping(socket: &Path, timeout: Duration) -> Result<Option<String>, PingError> {
    let work = async {
        let mut s = UnixStream::connect(socket).await?;
        s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            .await?;
        let mut buf = Vec::new();
        s.take(64 * 1024).read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| PingError::Timeout {
            socket: socket.to_path_buf(),
            timeout,
        })?
        .map_err(|source| PingError::Connect {
            socket: socket.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.lines();
    let status_line = lines.next().unwrap_or("").to_string();
    if !status_line.starts_with("HTTP/1.1 200") && !status_line.starts_with("HTTP/1.0 200") {
        return Err(PingError::Status {
            socket: socket.to_path_buf(),
            status_line,
        });
    }
    Ok(lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.trim().to_string()))
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Ok(String),
    Warn(String),
    Fail(String),
}

/// Checks `config` the way `serve` would use it. The engine being unreachable is a failure unless
/// `engine_optional` (at boot the engine may still be starting; the gateway answers 502 until it
/// is up).
pub async fn run(config: &Config, engine_optional: bool) -> Vec<Line> {
    let mut out = vec![Line::Ok(format!(
        "configuration {} is valid",
        config.source.display()
    ))];
    let listen: Vec<String> = config.listen.iter().map(|a| a.to_string()).collect();
    // systemd hands its sockets to the main process only, never to ExecStartPre's check, so the
    // check cannot tell whether the service will be socket-activated: it says both.
    out.push(Line::Ok(format!(
        "listen addresses: {} (not used when systemd passes its sockets: with dockgate.socket, its ListenStream= applies)",
        listen.join(", ")
    )));
    match crate::tls::setup(&config.tls) {
        Ok(setup) => {
            out.push(Line::Ok(format!(
                "TLS: CA {}, certificate {} and key {} load, and the key matches the certificate",
                config.tls.ca.display(),
                config.tls.cert.display(),
                config.tls.key.display()
            )));
            out.extend(server_cert_expiry(&config.tls.cert));
            out.extend(key_permissions(&config.tls.key));
            out.extend(crl_lines(&setup.revocations));
            out.extend(
                setup
                    .revocations
                    .warnings()
                    .iter()
                    .map(|w| Line::Warn(w.to_string())),
            );
        }
        Err(e) => out.push(Line::Fail(error_chain(&e))),
    }
    out.push(Line::Ok(format!(
        "{} [[allow]] rule(s) and {} profile(s) loaded",
        config.allow.len(),
        config.profiles.len()
    )));
    let policy = crate::policy::Policy::new(&config.allow, &config.profiles);
    out.extend(policy.warnings().into_iter().map(Line::Warn));
    out.push(open_files(&config.limits));
    out.extend(metrics_line(config.metrics));
    match ping(
        &config.upstream.socket,
        config.limits.upstream_connect_timeout,
    )
    .await
    {
        Ok(v) => out.push(Line::Ok(format!(
            "Docker Engine at {} answers /_ping (API version {})",
            config.upstream.socket.display(),
            v.as_deref().unwrap_or("unknown")
        ))),
        Err(e) if engine_optional => out.push(Line::Warn(format!(
            "{} (the gateway answers 502 until the engine is up)",
            error_chain(&e)
        ))),
        Err(e) => out.push(Line::Fail(error_chain(&e))),
    }
    out
}

/// Where metrics are served, and a warning when that is beyond loopback.
fn metrics_line(address: Option<std::net::SocketAddr>) -> Option<Line> {
    let address = address?;
    Some(match crate::metrics::http::exposure_warning(address) {
        Some(warning) => Line::Warn(warning),
        None => Line::Ok(format!(
            "metrics: /metrics and /health on http://{address} (plain HTTP)"
        )),
    })
}

/// The open-file limit `serve` would get (it raises the soft limit up to the hard one) against
/// what the connection limits need.
fn open_files(limits: &crate::config::Limits) -> Line {
    let b = crate::fdlimit::budget(limits, true);
    if b.lowered(limits) {
        Line::Warn(format!(
            "open-file limit {} (hard {}) is below the {} that limits.max_connections = {} and limits.max_handshakes = {} need: serve will handle {} connections at once; set LimitNOFILE={} in the unit (or ulimit -n), or lower limits.max_connections",
            b.soft, b.hard, b.needed, limits.max_connections, limits.max_handshakes, b.max_connections, b.needed
        ))
    } else if b.engine_limited() {
        Line::Ok(format!(
            "open-file limit {} fits limits.max_connections = {} with room for {} engine connections at once (requests and streams in flight); {} would let every connection stream at once",
            b.soft, limits.max_connections, b.max_engine_connections, b.needed
        ))
    } else {
        Line::Ok(format!(
            "open-file limit {} fits limits.max_connections = {} (needs {})",
            b.soft, limits.max_connections, b.needed
        ))
    }
}

fn server_cert_expiry(path: &Path) -> Option<Line> {
    let certs = crate::tls::load_certs(path).ok()?;
    let (_, cert) = X509Certificate::from_der(certs.first()?).ok()?;
    let not_after = cert.validity().not_after;
    let left = not_after.timestamp() - time::OffsetDateTime::now_utc().unix_timestamp();
    let days = left / 86_400;
    Some(if left <= 0 {
        Line::Fail(format!(
            "server certificate {} expired on {not_after}",
            path.display()
        ))
    } else if days < 7 {
        Line::Warn(format!(
            "server certificate {} expires in {days} day(s), on {not_after}",
            path.display()
        ))
    } else {
        Line::Ok(format!(
            "server certificate valid until {not_after} ({days} days)"
        ))
    })
}

fn crl_lines(revocations: &crate::tls::Revocations) -> Vec<Line> {
    let now = time::OffsetDateTime::now_utc();
    revocations
        .crls()
        .iter()
        .map(|c| {
            let path = c.path.display();
            match c.next_update {
                Some(n) if n <= now => Line::Fail(format!(
                    "revocation list {path} expired on {n}: every client it covers is refused; renew it (dockgate certs crl)"
                )),
                Some(n) if n - now <= crate::tls::EXPIRY_WARNING => Line::Warn(format!(
                    "revocation list {path} expires on {n}: renew it (dockgate certs crl)"
                )),
                Some(n) => Line::Ok(format!("revocation list {path} valid until {n}")),
                None => Line::Ok(format!("revocation list {path} (no next-update time)")),
            }
        })
        .collect()
}

fn key_permissions(path: &Path) -> Option<Line> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        Line::Warn(format!(
            "private key {} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        ))
    })
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

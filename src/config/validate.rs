//! Turns the raw file into a typed `Config`, naming the key of every bad value.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use super::duration::{self, MAX_GRACE, MAX_TIMEOUT};
use super::file::{RawAllow, RawConfig, RawLimits};
use super::profile::{self, ProfileCtx};
use super::{
    Access, AllowRule, Config, ConfigError, Limits, LogFormat, LogSettings, Matcher, Profile,
    ShutdownSettings, TlsFiles, Upstream,
};

/// Where `serve` and `check` look when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/dockgate/dockgate.toml";

/// The smallest request-head limit the HTTP parser can honour.
const MIN_HEADER_BYTES: usize = 8192;

struct Ctx<'a> {
    path: &'a Path,
    base: PathBuf,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn file(&self, key: &str, value: &str) -> Result<PathBuf, ConfigError> {
        if value.trim().is_empty() {
            return Err(self.err(key, "must be a file path, not empty"));
        }
        let p = Path::new(value);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        })
    }

    /// The value at `key`, or `default` when it is not set; in `(0, max]`.
    fn duration(
        &self,
        key: &str,
        value: Option<&String>,
        default: Duration,
        max: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(text) => duration::parse(text, max).map_err(|source| ConfigError::Duration {
                path: self.path.to_path_buf(),
                key: key.to_string(),
                source,
            }),
        }
    }

    /// The integer at `key`, or `default` when it is not set; in `range`.
    fn count(
        &self,
        key: &str,
        value: Option<i64>,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Result<usize, ConfigError> {
        let Some(n) = value else {
            return Ok(default);
        };
        match usize::try_from(n) {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(self.err(
                key,
                format!("{n} is not between {} and {}", range.start(), range.end()),
            )),
        }
    }
}

pub(super) fn validate(raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let ctx = Ctx { path, base };

    let listen = listen_addresses(&ctx, &raw.listen.addresses)?;
    let crl = raw
        .tls
        .crl
        .map(|c| c.into_vec())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, c)| ctx.file(&format!("tls.crl[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = TlsFiles {
        ca: ctx.file("tls.ca", &raw.tls.ca)?,
        cert: ctx.file("tls.cert", &raw.tls.cert)?,
        key: ctx.file("tls.key", &raw.tls.key)?,
        crl,
        watch: raw.tls.watch.unwrap_or(true),
    };
    let upstream = Upstream {
        socket: ctx.file("upstream.socket", &raw.upstream.socket)?,
    };
    let log = LogSettings {
        format: match raw.log.format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ctx.err(
                    "log.format",
                    format!("`{other}` is not \"text\" or \"json\""),
                ))
            }
        },
        level: match raw.log.level.as_deref().unwrap_or("info") {
            l @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => l.to_string(),
            other => {
                return Err(ctx.err(
                    "log.level",
                    format!("`{other}` is not one of trace, debug, info, warn, error, off"),
                ))
            }
        },
    };
    let limits = limits(&ctx, &raw.limits)?;
    let shutdown = ShutdownSettings {
        grace: ctx.duration(
            "shutdown.grace",
            raw.shutdown.grace.as_ref(),
            ShutdownSettings::default().grace,
            MAX_GRACE,
        )?,
    };
    if raw.allow.is_empty() {
        return Err(ctx.err(
            "allow",
            "no [[allow]] entries: nobody could use the gateway, so it refuses to start",
        ));
    }
    let pctx = ProfileCtx { path };
    let profiles = raw
        .profiles
        .iter()
        .map(|(name, p)| profile::profile(&pctx, name, p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut allow: Vec<AllowRule> = Vec::with_capacity(raw.allow.len());
    for (i, a) in raw.allow.iter().enumerate() {
        let rule = allow_rule(&ctx, i, a, &profiles, &allow)?;
        allow.push(rule);
    }
    let metrics = match &raw.metrics {
        None => None,
        Some(m) => Some(metrics_address(&ctx, m.address.as_deref(), &listen)?),
    };

    Ok(Config {
        source: path.to_path_buf(),
        listen,
        tls,
        upstream,
        log,
        limits,
        shutdown,
        metrics,
        allow,
        profiles,
    })
}

/// `metrics.address`: a plain-HTTP listener, so never one of the TLS addresses.
fn metrics_address(
    ctx: &Ctx<'_>,
    address: Option<&str>,
    listen: &[SocketAddr],
) -> Result<SocketAddr, ConfigError> {
    const KEY: &str = "metrics.address";
    let Some(a) = address else {
        return Err(ctx.err(
            KEY,
            "is required in [metrics] (for example \"127.0.0.1:9323\"); leave [metrics] out to switch metrics off",
        ));
    };
    let addr: SocketAddr = a.trim().parse().map_err(|_| {
        ctx.err(
            KEY,
            format!("`{a}` is not an address like \"127.0.0.1:9323\" or \"[::1]:9323\""),
        )
    })?;
    let clash = listen.iter().any(|l| {
        l.port() == addr.port()
            && (l.ip() == addr.ip() || l.ip().is_unspecified() || addr.ip().is_unspecified())
    });
    if clash {
        return Err(ctx.err(
            KEY,
            format!("`{a}` overlaps listen.addresses: metrics are plain HTTP and need a port of their own"),
        ));
    }
    Ok(addr)
}

fn listen_addresses(ctx: &Ctx<'_>, addresses: &[String]) -> Result<Vec<SocketAddr>, ConfigError> {
    let mut out = Vec::with_capacity(addresses.len());
    for (i, a) in addresses.iter().enumerate() {
        let key = format!("listen.addresses[{i}]");
        let addr: SocketAddr = a.trim().parse().map_err(|_| {
            ctx.err(
                &key,
                format!("`{a}` is not an address like \"0.0.0.0:2376\" or \"[::1]:2376\""),
            )
        })?;
        if out.contains(&addr) {
            return Err(ctx.err(key, format!("`{a}` is listed twice")));
        }
        out.push(addr);
    }
    Ok(out)
}

fn limits(ctx: &Ctx<'_>, raw: &RawLimits) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let max_connections = ctx.count(
        "limits.max_connections",
        raw.max_connections,
        d.max_connections,
        1..=1_000_000,
    )?;
    let max_connections_per_identity = ctx.count(
        "limits.max_connections_per_identity",
        raw.max_connections_per_identity,
        Limits::default_per_identity(max_connections),
        1..=1_000_000,
    )?;
    if max_connections_per_identity > max_connections {
        return Err(ctx.err(
            "limits.max_connections_per_identity",
            format!(
                "{max_connections_per_identity} is more than limits.max_connections ({max_connections})"
            ),
        ));
    }
    let max_handshakes = ctx.count(
        "limits.max_handshakes",
        raw.max_handshakes,
        d.max_handshakes,
        1..=65_536,
    )?;
    let max_header_bytes = ctx.count(
        "limits.max_header_bytes",
        raw.max_header_bytes,
        d.max_header_bytes,
        MIN_HEADER_BYTES..=16 * 1024 * 1024,
    )?;
    let max_inspected_body = ctx.count(
        "limits.max_inspected_body",
        raw.max_inspected_body,
        d.max_inspected_body,
        1024..=64 * 1024 * 1024,
    )?;
    let max_inspected_total = ctx.count(
        "limits.max_inspected_total",
        raw.max_inspected_total,
        d.max_inspected_total,
        1024..=1 << 40,
    )?;
    if max_inspected_total < max_inspected_body {
        return Err(ctx.err(
            "limits.max_inspected_total",
            format!(
                "{max_inspected_total} is less than limits.max_inspected_body ({max_inspected_body}): no body of that size could ever be inspected"
            ),
        ));
    }
    let timeout = |key: &str, value: &Option<String>, default: Duration| {
        ctx.duration(key, value.as_ref(), default, MAX_TIMEOUT)
    };
    let handshake_timeout = timeout(
        "limits.handshake_timeout",
        &raw.handshake_timeout,
        d.handshake_timeout,
    )?;
    // Unset, it follows a shorter handshake timeout rather than make that setting an error.
    let first_byte_timeout = timeout(
        "limits.first_byte_timeout",
        &raw.first_byte_timeout,
        d.first_byte_timeout.min(handshake_timeout),
    )?;
    if first_byte_timeout > handshake_timeout {
        return Err(ctx.err(
            "limits.first_byte_timeout",
            format!(
                "{} is longer than limits.handshake_timeout ({}), which already covers the first byte",
                humantime::format_duration(first_byte_timeout),
                humantime::format_duration(handshake_timeout)
            ),
        ));
    }
    Ok(Limits {
        handshake_timeout,
        first_byte_timeout,
        header_timeout: timeout(
            "limits.header_timeout",
            &raw.header_timeout,
            d.header_timeout,
        )?,
        upstream_connect_timeout: timeout(
            "limits.upstream_connect_timeout",
            &raw.upstream_connect_timeout,
            d.upstream_connect_timeout,
        )?,
        max_connections,
        max_handshakes,
        max_connections_per_identity,
        max_header_bytes,
        max_inspected_body,
        max_inspected_total,
        body_timeout: timeout("limits.body_timeout", &raw.body_timeout, d.body_timeout)?,
    })
}

fn allow_rule(
    ctx: &Ctx<'_>,
    i: usize,
    raw: &RawAllow,
    profiles: &[Profile],
    earlier: &[AllowRule],
) -> Result<AllowRule, ConfigError> {
    let key = |k: &str| format!("allow[{i}].{k}");
    let text = |k: &str, v: &Option<String>| -> Result<Option<String>, ConfigError> {
        match v {
            Some(s) if s.is_empty() => {
                Err(ctx.err(key(k), "must not be empty (leave the key out instead)"))
            }
            Some(s) => Ok(Some(s.clone())),
            None => Ok(None),
        }
    };
    let fingerprint = match &raw.fingerprint {
        None => None,
        Some(f) => Some(super::fingerprint_hex(f).ok_or_else(|| {
            ctx.err(
                key("fingerprint"),
                "must be the SHA-256 of the certificate: 64 hex digits, colons allowed",
            )
        })?),
    };
    let matcher = Matcher {
        cn: text("cn", &raw.cn)?,
        ou: text("ou", &raw.ou)?,
        dns: text("dns", &raw.dns)?.map(|d| d.to_ascii_lowercase()),
        uri: text("uri", &raw.uri)?,
        email: text("email", &raw.email)?,
        fingerprint,
    };
    if matcher == Matcher::default() {
        return Err(ctx.err(
            format!("allow[{i}]"),
            "has no match key: give at least one of cn, ou, dns, uri, email, fingerprint (cn = \"*\" matches any verified client)",
        ));
    }
    let access = match raw.access.as_deref() {
        Some("full") => Access::Full,
        Some("read-only") => Access::ReadOnly,
        Some(name) if profiles.iter().any(|p| p.name == name) => Access::Profile(Arc::from(name)),
        Some(other) => {
            let mut known: Vec<&str> = vec!["full", "read-only"];
            known.extend(profiles.iter().map(|p| p.name.as_str()));
            return Err(ctx.err(
                key("access"),
                format!(
                    "`{other}` is not \"full\", \"read-only\" or a [profiles.NAME] of this file (known: {})",
                    known.join(", ")
                ),
            ));
        }
        None => {
            return Err(ctx.err(
                key("access"),
                "is required: \"full\", \"read-only\" or a profile name",
            ))
        }
    };
    // `unknown` is the metrics' name for clients no entry matches.
    let taken = |n: &str| n == "unknown" || earlier.iter().any(|r| &*r.name == n);
    let name = match &raw.name {
        Some(n) => {
            let valid = !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c));
            if !valid {
                return Err(ctx.err(
                    key("name"),
                    format!("`{n}` must be 1 to 64 characters of letters, digits and - _ . @ :"),
                ));
            }
            if n == "unknown" {
                return Err(ctx.err(
                    key("name"),
                    "`unknown` is what the metrics call clients no entry matches; choose another name",
                ));
            }
            if taken(n) {
                return Err(ctx.err(
                    key("name"),
                    format!(
                        "`{n}` is the name of an earlier [[allow]] entry: names must be unique"
                    ),
                ));
            }
            n.clone()
        }
        None => match &matcher.cn {
            Some(cn) if cn != "*" && !taken(cn) => cn.clone(),
            // `allow-N`, or `allow-N-2`, `allow-N-3`... when an earlier entry took that name.
            _ => std::iter::once(format!("allow-{i}"))
                .chain((2..).map(|k| format!("allow-{i}-{k}")))
                .find(|n| !taken(n))
                .unwrap_or_default(),
        },
    };
    Ok(AllowRule {
        name: Arc::from(name),
        matcher,
        access,
    })
}

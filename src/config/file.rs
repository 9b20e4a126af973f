//! The configuration file as written: raw serde structs that reject unknown keys.
//!
//! Nothing here is interpreted; `validate.rs` turns these into the typed `Config`, so every
//! error about a value can name the TOML key it came from.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub listen: RawListen,
    pub tls: RawTls,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub shutdown: RawShutdown,
    pub metrics: Option<RawMetrics>,
    #[serde(default)]
    pub allow: Vec<RawAllow>,
    /// `[profiles.NAME]` tables, by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    #[serde(default)]
    pub allow: Vec<String>,
    pub hijack: Option<bool>,
    pub mode: Option<String>,
    pub containers: Option<RawContainers>,
    pub images: Option<Vec<String>>,
}

/// `[profiles.NAME.containers]`: what container create, update and exec create may ask for.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContainers {
    pub privileged: Option<bool>,
    pub host_namespaces: Option<bool>,
    pub host_cgroupns: Option<bool>,
    pub cap_add: Option<Vec<String>>,
    pub devices: Option<bool>,
    pub bind_mounts: Option<Vec<String>>,
    pub security_opt_unconfined: Option<bool>,
    pub volumes_from: Option<bool>,
    pub annotations: Option<bool>,
    pub read_only_binds: Option<bool>,
    pub log_drivers: Option<Vec<String>>,
    pub images: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShutdown {
    pub grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    #[serde(default = "default_addresses")]
    pub addresses: Vec<String>,
}

impl Default for RawListen {
    fn default() -> Self {
        RawListen {
            addresses: default_addresses(),
        }
    }
}

fn default_addresses() -> Vec<String> {
    vec!["0.0.0.0:2376".to_string()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub ca: String,
    pub cert: String,
    pub key: String,
    #[serde(default)]
    pub crl: Option<OneOrMany>,
    pub watch: Option<bool>,
}

/// A single path or a list of them.
#[derive(Debug)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    #[serde(default = "default_socket")]
    pub socket: String,
}

impl Default for RawUpstream {
    fn default() -> Self {
        RawUpstream {
            socket: default_socket(),
        }
    }
}

fn default_socket() -> String {
    "/var/run/docker.sock".to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub handshake_timeout: Option<String>,
    pub first_byte_timeout: Option<String>,
    pub header_timeout: Option<String>,
    pub upstream_connect_timeout: Option<String>,
    pub max_connections: Option<i64>,
    pub max_handshakes: Option<i64>,
    pub max_connections_per_identity: Option<i64>,
    pub max_header_bytes: Option<i64>,
    pub max_inspected_body: Option<i64>,
    pub max_inspected_total: Option<i64>,
    pub body_timeout: Option<String>,
}

/// `[metrics]`: the plain-HTTP listener for Prometheus.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllow {
    pub name: Option<String>,
    pub cn: Option<String>,
    pub ou: Option<String>,
    pub dns: Option<String>,
    pub uri: Option<String>,
    pub email: Option<String>,
    pub fingerprint: Option<String>,
    pub access: Option<String>,
}

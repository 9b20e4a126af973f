//! Key types for `dockgate certs`: ECDSA P-256 by default; RSA and Ed25519 on request. All are
//! accepted by the docker CLI (Go's crypto/tls), curl (OpenSSL) and dockgate (rustls).
//!
//! ring, rcgen's crypto backend, cannot generate RSA keys, so those come from the `rsa` crate
//! (key generation only; all signing is done by ring).

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256};
use rustls_pki_types::PrivatePkcs8KeyDer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    #[default]
    EcdsaP256,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ed25519,
}

impl KeyType {
    pub const NAMES: &'static str = "ecdsa-p256, rsa2048, rsa3072, rsa4096, ed25519";
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::Ed25519 => "ed25519",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a key type; use one of {names}", names = KeyType::NAMES)]
pub struct UnknownKeyType(String);

impl FromStr for KeyType {
    type Err = UnknownKeyType;
    fn from_str(s: &str) -> Result<KeyType, UnknownKeyType> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "ecdsa-p256" | "ecdsa" | "p256" | "ec" => KeyType::EcdsaP256,
            "rsa2048" | "rsa" => KeyType::Rsa2048,
            "rsa3072" => KeyType::Rsa3072,
            "rsa4096" => KeyType::Rsa4096,
            "ed25519" => KeyType::Ed25519,
            _ => return Err(UnknownKeyType(s.to_string())),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate a {0} key")]
    Generate(KeyType, #[source] rcgen::Error),
    #[error("cannot generate a {0} key: {1}")]
    Rsa(KeyType, String),
}

/// A fresh key pair of `kind`.
pub fn generate(kind: KeyType) -> Result<KeyPair, KeyError> {
    let bits = match kind {
        KeyType::EcdsaP256 => {
            return KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(|e| KeyError::Generate(kind, e))
        }
        KeyType::Ed25519 => {
            return KeyPair::generate_for(&PKCS_ED25519).map_err(|e| KeyError::Generate(kind, e))
        }
        KeyType::Rsa2048 => 2048,
        KeyType::Rsa3072 => 3072,
        KeyType::Rsa4096 => 4096,
    };
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits)
        .map_err(|e| KeyError::Rsa(kind, e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Rsa(kind, e.to_string()))?;
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(der.as_bytes()),
        &PKCS_RSA_SHA256,
    )
    .map_err(|e| KeyError::Generate(kind, e))
}

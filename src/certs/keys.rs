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

/// The private key as PEM (PKCS#8) that OpenSSL (curl) and Go (the docker CLI) both read.
///
/// ring writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key), which OpenSSL 3.0
/// refuses; they are rewritten as the v1 form (RFC 8410) that every tool reads.
pub fn to_pem(key: &KeyPair) -> String {
    let der = key.serialized_der();
    // v2: 30 51 | 02 01 01 | 30 05 06 03 2b 65 70 | 04 22 04 20 <seed:32> | a1/81 ... public key
    const ED25519_V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    if der.len() >= 48 && der[..16] == ED25519_V2_PREFIX {
        let mut v1 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        v1.extend_from_slice(&der[16..48]);
        return pem_encode("PRIVATE KEY", &v1);
    }
    key.serialize_pem()
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

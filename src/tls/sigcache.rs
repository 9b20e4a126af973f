//! Signature checks remembered across handshakes.
//!
//! For every handshake of the same client, WebPKI verifies the same signatures again: the CA's
//! signature on the client's certificate, and the CA's signature on each CRL it consults. A
//! signature check is a pure function of the algorithm, the public key, the signed bytes and the
//! signature, so a check that passed once passes again: this wrapper remembers passed checks by
//! a SHA-256 of all four and answers them without the public-key arithmetic. Everything else of
//! the chain check runs every time (validity dates against the current time, key usage, path,
//! revocation lookups), and the client's proof of its key (the CertificateVerify signature over
//! this handshake's transcript) is never the same twice and is checked with the plain
//! algorithms. Failed checks are not remembered. Measured: one ECDSA P-256 verification less per
//! repeat handshake, two with a CRL configured (bench/README.md).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use rustls::SignatureScheme;

/// Remembered checks at most; past it, the set starts over.
const MAX_REMEMBERED: usize = 4096;

static PASSED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();

#[derive(Debug)]
struct Remembering(&'static dyn SignatureVerificationAlgorithm);

fn passed() -> &'static Mutex<HashSet<[u8; 32]>> {
    PASSED.get_or_init(|| Mutex::new(HashSet::new()))
}

fn key(
    alg: &dyn SignatureVerificationAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        alg.public_key_alg_id().as_ref(),
        alg.signature_alg_id().as_ref(),
        public_key,
        message,
        signature,
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl SignatureVerificationAlgorithm for Remembering {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let k = key(self.0, public_key, message, signature);
        if passed().lock().is_ok_and(|p| p.contains(&k)) {
            return Ok(());
        }
        self.0.verify_signature(public_key, message, signature)?;
        if let Ok(mut p) = passed().lock() {
            if p.len() >= MAX_REMEMBERED {
                p.clear();
            }
            p.insert(k);
        }
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.0.fips()
    }
}

/// `algs`, each remembering the checks that passed. Built once per set of algorithms (the
/// wrappers live as long as the process, as the algorithms they wrap do).
pub fn remembering(algs: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    type Built = Vec<(usize, WebPkiSupportedAlgorithms)>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let id = algs.all.as_ptr() as *const () as usize;
    let mut built = BUILT
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, w)) = built.iter().find(|(i, _)| *i == id) {
        return *w;
    }
    let wrapped = {
        let wrap = |a: &'static dyn SignatureVerificationAlgorithm| -> &'static dyn SignatureVerificationAlgorithm {
            Box::leak(Box::new(Remembering(a)))
        };
        let all: Vec<&'static dyn SignatureVerificationAlgorithm> =
            algs.all.iter().map(|a| wrap(*a)).collect();
        let mapping: Vec<(
            SignatureScheme,
            &'static [&'static dyn SignatureVerificationAlgorithm],
        )> = algs
            .mapping
            .iter()
            .map(|(scheme, list)| {
                let wrapped: Vec<_> = list.iter().map(|a| wrap(*a)).collect();
                let wrapped: &'static [&'static dyn SignatureVerificationAlgorithm] =
                    Box::leak(wrapped.into_boxed_slice());
                (*scheme, wrapped)
            })
            .collect();
        WebPkiSupportedAlgorithms {
            all: Box::leak(all.into_boxed_slice()),
            mapping: Box::leak(mapping.into_boxed_slice()),
        }
    };
    built.push((id, wrapped));
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    /// Accepts a signature equal to the message reversed, and counts its calls.
    #[derive(Debug)]
    struct Toy;

    impl SignatureVerificationAlgorithm for Toy {
        fn verify_signature(&self, _k: &[u8], m: &[u8], s: &[u8]) -> Result<(), InvalidSignature> {
            CALLS.fetch_add(1, Ordering::SeqCst);
            let rev: Vec<u8> = m.iter().rev().copied().collect();
            (rev == s).then_some(()).ok_or(InvalidSignature)
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            AlgorithmIdentifier::from_slice(b"toy-key")
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            AlgorithmIdentifier::from_slice(b"toy-sig")
        }
    }

    #[test]
    fn passed_checks_are_remembered_and_failures_are_not() {
        static TOY: Toy = Toy;
        let r = Remembering(&TOY);
        let before = CALLS.load(Ordering::SeqCst);
        assert!(r.verify_signature(b"k", b"abc", b"cba").is_ok());
        assert!(r.verify_signature(b"k", b"abc", b"cba").is_ok());
        assert_eq!(
            CALLS.load(Ordering::SeqCst) - before,
            1,
            "the second check was remembered"
        );
        // Any part different is a new check.
        assert!(r.verify_signature(b"k2", b"abc", b"cba").is_ok());
        assert!(r.verify_signature(b"k", b"abd", b"cba").is_err());
        assert!(r.verify_signature(b"k", b"abc", b"cbb").is_err());
        assert!(r.verify_signature(b"k", b"abc", b"cbb").is_err());
        assert_eq!(
            CALLS.load(Ordering::SeqCst) - before,
            5,
            "failures are checked every time"
        );
    }
}

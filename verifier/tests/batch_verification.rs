//! Why the log checks statement signatures one by one with `verify_strict`, and not with
//! ed25519-dalek's `verify_batch`: the batch equation is cofactorless and checked only up to a
//! random linear combination whose coefficients come from the inputs, so a signer can make a
//! signature that `verify_strict` (and therefore every auditor replaying the log, see
//! `key.rs`) refuses, but that `verify_batch` accepts with probability 1/2: R moved by a point
//! of order 2. The log must accept exactly what auditors accept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_verifier::{KeyType, VerifierKey};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity as _;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

fn wide(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A signature by the secret scalar `a` over `message` whose R carries a point of order 2:
/// s·B = R + T + h·A with T of order 2 (RFC 8032 5.1.7's equation, off by T).
fn skewed_signature(a: &Scalar, public: &[u8; 32], message: &[u8]) -> Signature {
    let r = wide(&[b"nonce", message]);
    let torsion = EIGHT_TORSION[4];
    assert!(torsion.is_small_order() && !torsion.is_identity());
    let skewed_r = (EdwardsPoint::mul_base(&r) + torsion).compress();
    let h = wide(&[skewed_r.as_bytes(), public, message]);
    let s = r + h * a;
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(skewed_r.as_bytes());
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::from_bytes(&bytes)
}

#[test]
fn verify_batch_accepts_what_verify_strict_refuses() {
    let a = wide(&[b"a certifier's secret scalar"]);
    let public = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let key = VerifyingKey::from_bytes(&public).unwrap();
    let vkey = VerifierKey::new("cb.example", KeyType::Ed25519, key).unwrap();

    let mut accepted_by_batch = 0;
    for i in 0..64u32 {
        let message = format!("statement {i}");
        let signature = skewed_signature(&a, &public, message.as_bytes());
        // Refused by the strict check the log and the auditors use...
        assert!(key.verify_strict(message.as_bytes(), &signature).is_err());
        assert!(!vkey.verify_bytes(message.as_bytes(), &signature.to_bytes()));
        // ...and by every batch of one where the coefficient is odd, but not the others.
        let batch = ed25519_dalek::verify_batch(&[message.as_bytes()], &[signature], &[key]);
        accepted_by_batch += u32::from(batch.is_ok());
    }
    // Each is accepted with probability 1/2: all 64 refused has probability 2^-64.
    assert!(accepted_by_batch > 0, "verify_batch refused all 64");
    assert!(accepted_by_batch < 64, "verify_batch accepted all 64");
}

//! What the log accepts as a statement signature: exactly what ed25519-dalek's `verify_strict`
//! accepts, which is what every auditor replaying the log accepts (see `key.rs`).
//!
//! - `VerifierKey::verify_bytes` gets there for less than `verify_strict`: the cofactorless
//!   `verify`, then a refusal of keys and Rs of small order made without decompressing R. The
//!   two are compared here on every kind of signature where `verify` and `verify_strict` can
//!   differ.
//! - With the key's tables (`VerifierKey::precompute`), R is recomputed another way: the
//!   tables' check is compared with `verify`, and `verify_bytes` with them with
//!   `verify_strict`, on the same signatures.
//! - Not with `verify_batch`: the batch equation is cofactorless and checked only up to a
//!   random linear combination whose coefficients come from the inputs, so a signer can make a
//!   signature that `verify_strict` refuses but that `verify_batch` accepts with probability
//!   1/2: R moved by a point of order 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use certlog_verifier::precomputed::KeyTable;
use certlog_verifier::{KeyType, VerifierKey};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
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

/// Non-canonical encodings of points of small order: y = 1 and y = -1 with the sign bit set
/// (x = 0), y = p + 1 with either sign, and y = p (that is 0) with either sign.
const NON_CANONICAL_SMALL_ORDER: [[u8; 32]; 6] = [
    hex_literal::hex!("0100000000000000000000000000000000000000000000000000000000000080"),
    hex_literal::hex!("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    hex_literal::hex!("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex_literal::hex!("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    hex_literal::hex!("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex_literal::hex!("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
];

/// The little-endian bytes of s + L, the same scalar not reduced.
fn add_group_order(s: &[u8; 32]) -> [u8; 32] {
    const L: [u8; 32] =
        hex_literal::hex!("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let digit = u16::from(s[i]) + u16::from(L[i]) + carry;
        sum[i] = digit as u8;
        carry = digit >> 8;
    }
    sum
}

/// 64 signature bytes from R's encoding and s's.
fn signature(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(r);
    bytes[32..].copy_from_slice(s);
    bytes
}

/// The key with its tables (`VerifierKey::precompute`), and the tables alone, built once per
/// key.
fn precomputed(key: &VerifierKey) -> (VerifierKey, Rc<KeyTable>) {
    thread_local! {
        static KEYS: RefCell<HashMap<String, (VerifierKey, Rc<KeyTable>)>> = RefCell::default();
    }
    KEYS.with_borrow_mut(|keys| {
        keys.entry(key.to_string())
            .or_insert_with(|| {
                let mut with_tables = key.clone();
                with_tables.precompute();
                (with_tables, Rc::new(KeyTable::new(key.public_key())))
            })
            .clone()
    })
}

/// Whether `verify_bytes`, with and without the key's tables, and `verify_strict` agree on a
/// signature, and the tables' check and the plain, cofactorless `verify`; whether `verify`
/// accepts it.
fn check(public: &[u8; 32], message: &[u8], bytes: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    let vkey = VerifierKey::new("cb.example", KeyType::Ed25519, key).unwrap();
    let signature = Signature::from_bytes(bytes);
    let strict = key.verify_strict(message, &signature).is_ok();
    let plain = key.verify(message, &signature).is_ok();
    let case = format!(
        "key {}, message {message:?}, signature {}",
        hex::encode(public),
        hex::encode(bytes)
    );
    assert_eq!(vkey.verify_bytes(message, bytes), strict, "{case}");
    let (with_tables, table) = precomputed(&vkey);
    assert!(with_tables.is_precomputed());
    assert_eq!(with_tables.verify_bytes(message, bytes), strict, "{case}");
    assert_eq!(table.verify(message, &signature), plain, "{case}");
    plain
}

#[test]
fn verify_bytes_accepts_exactly_what_verify_strict_accepts() {
    let a = wide(&[b"a certifier's secret scalar"]);
    let honest = EdwardsPoint::mul_base(&a);
    let public = honest.compress().to_bytes();
    // Plain `verify` accepts signatures that `verify_strict` refuses: these must occur, or the
    // comparison proves nothing about the small-order checks.
    let mut loose = 0;
    let mut weak_key_only = 0;
    for i in 0..16u32 {
        let message = format!("statement {i}");
        let m = message.as_bytes();

        // An honest signature, and the same on another message.
        let r = wide(&[b"nonce", m]);
        let big_r = EdwardsPoint::mul_base(&r).compress();
        let s = r + wide(&[big_r.as_bytes(), &public, m]) * a;
        let good = signature(big_r.as_bytes(), s.as_bytes());
        assert!(check(&public, m, &good));
        check(&public, b"another statement", &good);
        // s not reduced (s + L, RFC 8032 5.1.7 refuses it).
        let unreduced = add_group_order(&s.to_bytes());
        check(&public, m, &signature(big_r.as_bytes(), &unreduced));
        // R not canonical: y + p, or x = 0 with the sign bit set, for the points of small
        // order whose encodings allow it.
        for r in NON_CANONICAL_SMALL_ORDER {
            check(&public, m, &signature(&r, s.as_bytes()));
            check(&public, m, &signature(&r, Scalar::ZERO.as_bytes()));
        }

        // R moved by each point of small order, s as if it were not (the torsion in the
        // equation) or as for the moved R.
        for torsion in EIGHT_TORSION {
            let moved = (EdwardsPoint::mul_base(&r) + torsion).compress();
            let h = wide(&[moved.as_bytes(), &public, m]);
            check(
                &public,
                m,
                &signature(moved.as_bytes(), (r + h * a).as_bytes()),
            );
            check(&public, m, &signature(moved.as_bytes(), s.as_bytes()));
        }

        // R of small order with an honest key: s = h·a makes s·B - h·A the identity, which
        // `verify` accepts for R = the identity.
        for torsion in EIGHT_TORSION {
            let small = torsion.compress();
            let h = wide(&[small.as_bytes(), &public, m]);
            loose += u32::from(check(
                &public,
                m,
                &signature(small.as_bytes(), (h * a).as_bytes()),
            ));
        }

        // Keys of small order and of mixed order, with every R of small order and s = 0 or 1:
        // s·B - h·A is then of small order for weak keys, and `verify` accepts where it is R.
        for key_torsion in EIGHT_TORSION {
            for key in [key_torsion, honest + key_torsion] {
                let key_bytes = key.compress().to_bytes();
                for torsion in EIGHT_TORSION {
                    let small = torsion.compress();
                    for s in [Scalar::ZERO, Scalar::ONE, s] {
                        loose += u32::from(check(
                            &key_bytes,
                            m,
                            &signature(small.as_bytes(), s.as_bytes()),
                        ));
                    }
                }
                check(&key_bytes, m, &good);
            }
            // An R not of small order with a key of small order: R = s·B + T passes `verify`
            // when h·A = -T, which a signer finds by trying each T.
            for torsion in EIGHT_TORSION {
                let moved = (EdwardsPoint::mul_base(&s) + torsion).compress();
                weak_key_only += u32::from(check(
                    &key_torsion.compress().to_bytes(),
                    m,
                    &signature(moved.as_bytes(), s.as_bytes()),
                ));
            }
        }

        // Bytes that are no signature at all.
        let noise = wide(&[b"noise", m]).to_bytes();
        check(&public, m, &signature(&noise, &noise));
        check(&public, m, &[0xff; 64]);
    }
    assert!(loose > 0, "plain verify refused every small-order case");
    assert!(
        weak_key_only > 0,
        "no case where only the key is of small order"
    );
}

#[test]
fn every_small_order_r_is_refused_where_plain_verify_accepts_it() {
    // Keys of mixed order, a·B + T_k, and R = T of small order with s = h·a: then
    // s·B - h·A = -h·T_k, which plain `verify` accepts when it is T. Over enough messages this
    // happens for each of the eight points of small order, so a wrong encoding among the eight
    // that `verify_bytes` refuses would show as a disagreement with `verify_strict`.
    let a = wide(&[b"a certifier's secret scalar"]);
    let mut accepted = [0u32; 8];
    for i in 0..64u32 {
        let message = format!("statement {i}");
        let m = message.as_bytes();
        for key_torsion in EIGHT_TORSION {
            let key = (EdwardsPoint::mul_base(&a) + key_torsion)
                .compress()
                .to_bytes();
            for (t, torsion) in EIGHT_TORSION.iter().enumerate() {
                let small = torsion.compress();
                let h = wide(&[small.as_bytes(), &key, m]);
                let bytes = signature(small.as_bytes(), (h * a).as_bytes());
                accepted[t] += u32::from(check(&key, m, &bytes));
            }
        }
    }
    assert!(
        accepted.iter().all(|&n| n > 0),
        "plain verify accepted only some small-order Rs: {accepted:?}"
    );
}

//! Ed25519 verification (RFC 8032 5.1.7) under a key met many times, with tables of the key's
//! multiples and of the base point's.
//!
//! Verifying recomputes R' = [s]B - [k]A and compares its encoding with the signature's R.
//! ed25519-dalek computes the two products together, with 256 point doublings shared between
//! them. With tables of every multiple `d·256^i·P` (`|d| ≤ 128`, `i < 32`) of a point P, a
//! product is 32 additions and no doubling: a scalar, written in signed base-256 digits, picks
//! one entry per row. That halves a verification's cost (`benches/verify.rs`), for 640 KiB
//! per key, built in about a millisecond and a half: a log that checks thousands of
//! statements from the same certifiers spends it once per key; a verifier that checks a few
//! signatures does not ([`crate::VerifierKey::verify_bytes`] without a table).
//!
//! The products are exact group arithmetic (curve25519-dalek's point additions), so R' is the
//! same point, with the same encoding, as ed25519-dalek's: the checks around it are
//! `VerifierKey::verify_bytes`'s, and `tests/strict_verification.rs` compares the two ways on
//! every kind of signature.

use alloc::vec::Vec;
use std::sync::OnceLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use sha2::{Digest as _, Sha512};

/// Rows of a table: one per base-256 digit of a scalar.
const ROWS: usize = 32;
/// Entries of a row: the multiples 1 to 128 of the row's power of 256 (a negative digit takes
/// the negated entry).
const ENTRIES: usize = 128;

/// The multiples `d·256^i·P` of a point P, for `1 ≤ d ≤ 128` and `i < 32`, row by row.
struct Multiples(Vec<EdwardsPoint>);

impl Multiples {
    fn of(point: &EdwardsPoint) -> Multiples {
        let mut entries = Vec::with_capacity(ROWS * ENTRIES);
        let mut power = *point;
        for _ in 0..ROWS {
            let mut multiple = power;
            for _ in 0..ENTRIES {
                entries.push(multiple);
                multiple += power;
            }
            // 256·256^i·P: the row's last entry, doubled.
            let last = entries[entries.len() - 1];
            power = last + last;
        }
        Multiples(entries)
    }

    /// `scalar·P`, one addition per non-zero digit. A `Scalar` is below the group order, under
    /// 2^253: its last digit never carries out.
    fn mul(&self, scalar: &Scalar) -> EdwardsPoint {
        let mut sum = EdwardsPoint::identity();
        let mut carry = 0i16;
        for (row, byte) in scalar.as_bytes().iter().enumerate() {
            // The digit in [-128, 128): a byte of 128 or more is the byte minus 256, carrying
            // one into the next digit.
            let value = i16::from(*byte) + carry;
            let (digit, next) = if value >= 128 {
                (value - 256, 1)
            } else {
                (value, 0)
            };
            carry = next;
            let entry = |d: i16| &self.0[row * ENTRIES + usize::from(d.unsigned_abs()) - 1];
            if digit > 0 {
                sum += entry(digit);
            } else if digit < 0 {
                sum -= entry(digit);
            }
        }
        debug_assert_eq!(carry, 0);
        sum
    }
}

/// The base point's multiples, built once, on first use.
fn base_multiples() -> &'static Multiples {
    static BASE: OnceLock<Multiples> = OnceLock::new();
    BASE.get_or_init(|| Multiples::of(&ED25519_BASEPOINT_POINT))
}

/// The multiples of one public key A, to verify its signatures.
pub struct KeyTable {
    /// A as the key's bytes give it: what the challenge hashes.
    encoded: [u8; 32],
    multiples: Multiples,
}

impl KeyTable {
    /// The table of a public key.
    pub fn new(key: &ed25519_dalek::VerifyingKey) -> KeyTable {
        KeyTable {
            encoded: key.to_bytes(),
            multiples: Multiples::of(&key.to_edwards()),
        }
    }

    /// Checks a signature as ed25519-dalek's `verify` does (RFC 8032 5.1.7 without the
    /// cofactor): s below the group order, and R equal to the encoding of [s]B - [k]A, where
    /// k = SHA-512(R || A || message). Not strict by itself: it accepts a key or an R of small
    /// order, which [`crate::VerifierKey::verify_bytes`] refuses before it comes here.
    pub fn verify(&self, message: &[u8], signature: &ed25519_dalek::Signature) -> bool {
        let Some(s) = Scalar::from_canonical_bytes(*signature.s_bytes()).into_option() else {
            return false;
        };
        let challenge = Sha512::new()
            .chain_update(signature.r_bytes())
            .chain_update(self.encoded)
            .chain_update(message)
            .finalize();
        let k = Scalar::from_bytes_mod_order_wide(&challenge.into());
        self.recompute_r(&s, &k).as_bytes() == signature.r_bytes()
    }

    /// The encoding of R' = [s]B - [k]A.
    fn recompute_r(&self, s: &Scalar, k: &Scalar) -> CompressedEdwardsY {
        (base_multiples().mul(s) - self.multiples.mul(k)).compress()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> ed25519_dalek::VerifyingKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    /// Scalars at the edges of the digit recoding: zero, one, the group order minus one, and
    /// 127, 128 and 255 (the last positive digit, the first carry, a carry from -1) in one byte
    /// or in every byte (reduced).
    fn edge_scalars() -> Vec<Scalar> {
        let mut scalars = vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE];
        for byte in [0x7f, 0x80, 0xff] {
            scalars.push(Scalar::from_bytes_mod_order([byte; 32]));
            let mut one = [0u8; 32];
            for i in 0..32 {
                one[i] = byte;
                scalars.push(Scalar::from_bytes_mod_order(one));
                one[i] = 0;
            }
        }
        scalars
    }

    #[test]
    fn products_equal_dalek_s_at_the_edges_of_the_recoding() {
        let key = key(3);
        let table = KeyTable::new(&key);
        let key = key.to_edwards();
        for s in edge_scalars() {
            for k in edge_scalars() {
                let want =
                    EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key, &s).compress();
                assert_eq!(table.recompute_r(&s, &k), want, "s = {s:?}, k = {k:?}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn products_equal_dalek_s(
            seed in any::<u8>(),
            s in any::<[u8; 32]>(),
            k in any::<[u8; 32]>(),
        ) {
            let key = key(seed);
            let table = KeyTable::new(&key);
            let (s, k) = (Scalar::from_bytes_mod_order(s), Scalar::from_bytes_mod_order(k));
            let want = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.to_edwards(), &s)
                .compress();
            prop_assert_eq!(table.recompute_r(&s, &k), want);
        }
    }
}

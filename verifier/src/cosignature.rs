//! C2SP tlog-cosignature v1, Ed25519: a witness's signature line on a checkpoint, holding
//! key ID (type 0x04) || timestamp (u64 big-endian, seconds) || Ed25519 signature over
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint text.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::key::{KeyError, KeyType, SigningKey, VerifierKey};
use crate::note::{Note, NoteError, NoteSignature};

/// The largest timestamp a cosignature may carry, 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Why cosignatures were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// A witness key is not a cosignature key, or cannot sign.
    #[error("witness key: {0}")]
    Key(#[from] KeyError),
    /// A witness's cosignature line is malformed or does not verify.
    #[error("cosignature: {0}")]
    Note(#[from] NoteError),
    /// The timestamp is above 2^63 - 1.
    #[error("cosignature timestamp {0} is above 2^63-1")]
    TimestampTooLarge(u64),
    /// Fewer witnesses cosigned than required.
    #[error("{got} of the required {want} witness cosignatures")]
    QuorumNotMet {
        /// Valid cosignatures of known witnesses.
        got: usize,
        /// The quorum.
        want: usize,
    },
}

/// A verified cosignature: which witness, and when it cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub name: String,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
}

/// The message a v1 cosignature signs.
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// Cosigns a checkpoint text at `timestamp` with a witness key of type 0x04.
pub fn cosign(
    key: &SigningKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    key.expect_type(KeyType::CosignatureV1)?;
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampTooLarge(timestamp));
    }
    let mut signature = Vec::with_capacity(72);
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature
        .extend_from_slice(&key.sign_bytes(signed_message(timestamp, checkpoint_text).as_bytes()));
    Ok(NoteSignature {
        name: key.name().into(),
        key_id: key.key_id(),
        signature,
    })
}

/// The timestamp of a cosignature line's signature bytes (after the key ID).
pub fn timestamp(signature: &[u8]) -> Option<u64> {
    let ts = u64::from_be_bytes(signature.get(..8)?.try_into().ok()?);
    (signature.len() == 72 && ts <= MAX_TIMESTAMP).then_some(ts)
}

/// Whether `signature` (timestamp || Ed25519) is `key`'s v1 cosignature of `checkpoint_text`.
pub(crate) fn verify(key: &VerifierKey, checkpoint_text: &[u8], signature: &[u8]) -> bool {
    let (Some(ts), Ok(text)) = (timestamp(signature), core::str::from_utf8(checkpoint_text)) else {
        return false;
    };
    key.verify_bytes(signed_message(ts, text).as_bytes(), &signature[8..])
}

/// Checks the cosignatures of `witnesses` on a checkpoint note: each one present must verify, and
/// at least `quorum` distinct witnesses must have cosigned.
pub fn verify_quorum(
    note: &Note,
    witnesses: &[VerifierKey],
    quorum: usize,
) -> Result<Vec<Cosignature>, CosignatureError> {
    for w in witnesses {
        w.expect_type(KeyType::CosignatureV1)?;
    }
    let refs: Vec<&VerifierKey> = witnesses.iter().collect();
    let cosigs: Vec<Cosignature> = note
        .verify_known(&refs)?
        .into_iter()
        .filter_map(|sig| {
            Some(Cosignature {
                name: sig.name.clone(),
                timestamp: timestamp(&sig.signature)?,
            })
        })
        .collect();
    if cosigs.len() < quorum {
        return Err(CosignatureError::QuorumNotMet {
            got: cosigs.len(),
            want: quorum,
        });
    }
    Ok(cosigs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::merkle::EMPTY_ROOT;
    use alloc::string::ToString;

    fn witness(n: u8) -> SigningKey {
        SigningKey::from_seed(&format!("w{n}.example"), KeyType::CosignatureV1, &[n; 32]).unwrap()
    }

    #[test]
    fn signed_message_is_the_spec_example() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            signed_message(1679315147, text),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn quorum_of_cosignatures() {
        let log = SigningKey::from_seed("log.example", KeyType::Ed25519, &[9; 32]).unwrap();
        let mut signed = Checkpoint::new("log.example", 1, EMPTY_ROOT)
            .sign(&log)
            .unwrap();
        let text = signed.note.text().to_string();
        for n in [1, 2] {
            signed
                .note
                .add_signature(cosign(&witness(n), &text, 1_700_000_000 + u64::from(n)).unwrap());
        }
        let known: Vec<VerifierKey> = [1, 2, 3].map(|n| witness(n).verifier_key()).into();
        let cosigs = signed.verify_cosignatures(&known, 2).unwrap();
        assert_eq!(
            cosigs[1],
            Cosignature {
                name: "w2.example".into(),
                timestamp: 1_700_000_002
            }
        );
        assert_eq!(
            signed.verify_cosignatures(&known, 3),
            Err(CosignatureError::QuorumNotMet { got: 2, want: 3 })
        );
        // The log's own key is not a witness key.
        assert!(
            signed
                .verify_cosignatures(&[log.verifier_key()], 0)
                .is_err()
        );
    }

    #[test]
    fn a_changed_timestamp_breaks_the_cosignature() {
        let text = "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        let w = witness(1);
        let mut sig = cosign(&w, text, 100).unwrap();
        assert!(verify(&w.verifier_key(), text.as_bytes(), &sig.signature));
        sig.signature[7] = 101;
        assert!(!verify(&w.verifier_key(), text.as_bytes(), &sig.signature));
        assert!(!verify(
            &w.verifier_key(),
            text.as_bytes(),
            &sig.signature[..70]
        ));
        assert!(matches!(
            cosign(&w, text, u64::MAX),
            Err(CosignatureError::TimestampTooLarge(_))
        ));
    }
}

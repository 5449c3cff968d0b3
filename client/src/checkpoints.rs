//! The last checkpoint a client verified, so that its signature is checked once rather than
//! with every answer that carries it: a log answers many proofs against the same checkpoint,
//! and an Ed25519 verification costs more than checking the proof it comes with.

use std::sync::{Arc, Mutex, PoisonError};

use certlog_verifier::checkpoint::CheckpointError;
use certlog_verifier::{SignedCheckpoint, VerifierKey};

/// The last checkpoint verified: the key, the text and the opened form; clones share it.
#[derive(Clone, Default)]
pub struct LastVerified(Arc<Mutex<Option<Verified>>>);

struct Verified {
    key: VerifierKey,
    text: String,
    checkpoint: SignedCheckpoint,
}

impl LastVerified {
    /// Verifies the signed checkpoint `text` with `key` (C2SP tlog-checkpoint), unless this
    /// very text was verified last with this very key.
    pub fn verify(
        &self,
        text: &str,
        key: &VerifierKey,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        if let Some(last) = &*self.0.lock().unwrap_or_else(PoisonError::into_inner)
            && last.text == text
            && last.key == *key
        {
            return Ok(last.checkpoint.clone());
        }
        // Verified without the lock held: other requests go on meanwhile.
        let checkpoint = SignedCheckpoint::verify(text.as_bytes(), key)?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Verified {
            key: key.clone(),
            text: text.to_owned(),
            checkpoint: checkpoint.clone(),
        });
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use certlog_verifier::checkpoint::Checkpoint;
    use certlog_verifier::{Hash, KeyType, SigningKey};

    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed("log.example/log", KeyType::Ed25519, &[seed; 32]).unwrap()
    }

    fn signed(size: u64, by: &SigningKey) -> String {
        Checkpoint::new("log.example/log", size, Hash([7; 32]))
            .sign(by)
            .unwrap()
            .to_text()
    }

    #[test]
    fn a_checkpoint_verified_once_comes_back_the_same() {
        let log = key(1);
        let last = LastVerified::default();
        let text = signed(5, &log);
        let first = last.verify(&text, &log.verifier_key()).unwrap();
        assert_eq!(first.checkpoint.size, 5);
        assert_eq!(last.verify(&text, &log.verifier_key()).unwrap(), first);
        assert_eq!(
            last.clone().verify(&text, &log.verifier_key()).unwrap(),
            first
        );
    }

    #[test]
    fn any_other_text_is_verified_again() {
        let (log, other) = (key(1), key(2));
        let last = LastVerified::default();
        last.verify(&signed(5, &log), &log.verifier_key()).unwrap();
        // The same tree size and root, signed by another key of the same name.
        assert!(
            last.verify(&signed(5, &other), &log.verifier_key())
                .is_err()
        );
        // The remembered text with one byte of its signature changed.
        let text = signed(5, &log);
        let mut forged = text.clone().into_bytes();
        let at = forged.len() - 6;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(last.verify(&forged, &log.verifier_key()).is_err());
        // A failure leaves the remembered checkpoint as it was.
        assert!(last.verify(&text, &log.verifier_key()).is_ok());
        // A newer checkpoint replaces the remembered one.
        let newer = last.verify(&signed(6, &log), &log.verifier_key()).unwrap();
        assert_eq!(newer.checkpoint.size, 6);
        assert!(last.verify(&text, &log.verifier_key()).is_ok());
    }

    #[test]
    fn the_remembered_text_is_verified_again_with_another_key() {
        let (log, other) = (key(1), key(2));
        let last = LastVerified::default();
        let text = signed(5, &log);
        last.verify(&text, &log.verifier_key()).unwrap();
        assert!(last.verify(&text, &other.verifier_key()).is_err());
    }
}

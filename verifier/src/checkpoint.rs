//! C2SP tlog-checkpoint: the note text `origin`, `size`, `base64(root)` (then optional extension
//! lines, which certlog never writes), signed by the log's key whose name is the origin.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::cosignature::{self, Cosignature, CosignatureError};
use crate::key::{KeyError, KeyType, SigningKey, VerifierKey};
use crate::merkle::Hash;
use crate::note::{Note, NoteError};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around it is malformed or not signed by the log.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The log key cannot sign or verify checkpoints.
    #[error("log key: {0}")]
    Key(#[from] KeyError),
    /// A mandatory line is missing.
    #[error("checkpoint has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size is not a decimal without leading zeros.
    #[error("invalid checkpoint tree size {0:?}")]
    InvalidSize(String),
    /// The root is not 32 bytes of base64.
    #[error("invalid checkpoint root hash {0:?}")]
    InvalidRoot(String),
    /// An extension line is empty.
    #[error("checkpoint has an empty extension line")]
    EmptyExtension,
    /// The checkpoint is from another log than the key's.
    #[error("checkpoint origin {origin:?} is not the log key's name {key:?}")]
    OriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The key's name.
        key: String,
    },
}

/// A tree head: the log's origin, the tree size and the root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root of those leaves.
    pub root: Hash,
    /// Opaque extension lines (not auditable; certlog writes none).
    pub extensions: Vec<String>,
}

/// Parses a tree size: decimal ASCII with no leading zeros, `0` for the empty tree.
pub fn parse_tree_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint's note text.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Note(NoteError::MissingNewline))?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let size =
            parse_tree_size(size).ok_or_else(|| CheckpointError::InvalidSize(size.into()))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let root =
            Hash::from_base64(root).map_err(|_| CheckpointError::InvalidRoot(root.into()))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            extensions.push(line.into());
        }
        Ok(Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions,
        })
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, self.root);
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Signs the checkpoint with the log's key, whose name must be the origin.
    pub fn sign(&self, log_key: &SigningKey) -> Result<SignedCheckpoint, CheckpointError> {
        if log_key.name() != self.origin {
            return Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key: log_key.name().into(),
            });
        }
        let text = self.to_text();
        let mut note = Note::new(text.clone())?;
        note.add_signature(log_key.sign_note(&text)?);
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        })
    }
}

/// A checkpoint with its signatures: the log's and any witness cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed tree head.
    pub checkpoint: Checkpoint,
    /// The signed note it came in, with every signature line.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Opens a signed checkpoint: the note must carry a valid signature of `log_key`, whose name
    /// is the origin. Other signatures are kept but not checked.
    pub fn verify(
        bytes: &[u8],
        log_key: &VerifierKey,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        log_key.expect_type(KeyType::Ed25519)?;
        // Parsed before the signature is checked so that a malformed checkpoint says so rather
        // than "unsigned"; nothing parsed is trusted until then.
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key: log_key.name().into(),
            });
        }
        note.verify(&[log_key])?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Checks the cosignatures of `witnesses` and that at least `quorum` of them signed.
    pub fn verify_cosignatures(
        &self,
        witnesses: &[VerifierKey],
        quorum: usize,
    ) -> Result<Vec<Cosignature>, CosignatureError> {
        cosignature::verify_quorum(&self.note, witnesses, quorum)
    }

    /// The signed note, as served on `/checkpoint`.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::EMPTY_ROOT;

    const C2SP_EXAMPLE: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn spec_example_parses_and_formats_back() {
        let c = Checkpoint::parse(C2SP_EXAMPLE).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.to_text(), C2SP_EXAMPLE);
        let with_ext = format!("{C2SP_EXAMPLE}ext one\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions,
            ["ext one"]
        );
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let root = EMPTY_ROOT.to_base64();
        let cases = [
            ("o\n1\n".into(), CheckpointError::MissingLine("root hash")),
            (
                format!("o\n1\n{root}"),
                CheckpointError::Note(NoteError::MissingNewline),
            ),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (
                format!("o\n01\n{root}\n"),
                CheckpointError::InvalidSize("01".into()),
            ),
            (
                format!("o\n+1\n{root}\n"),
                CheckpointError::InvalidSize("+1".into()),
            ),
            (
                format!("o\n-1\n{root}\n"),
                CheckpointError::InvalidSize("-1".into()),
            ),
            (
                format!("o\n\n{root}\n"),
                CheckpointError::InvalidSize("".into()),
            ),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                CheckpointError::InvalidSize("18446744073709551616".into()),
            ),
            (
                "o\n1\nAAAA\n".into(),
                CheckpointError::InvalidRoot("AAAA".into()),
            ),
            (format!("o\n1\n{root}\n\n"), CheckpointError::EmptyExtension),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        assert_eq!(parse_tree_size("0"), Some(0));
        assert_eq!(parse_tree_size("00"), None);
    }

    #[test]
    fn sign_then_verify() {
        let key = SigningKey::from_seed("certlog.local/log", KeyType::Ed25519, &[3; 32]).unwrap();
        let signed = Checkpoint::new("certlog.local/log", 5, EMPTY_ROOT)
            .sign(&key)
            .unwrap();
        let vkey = key.verifier_key();
        let opened = SignedCheckpoint::verify(signed.to_text().as_bytes(), &vkey).unwrap();
        assert_eq!(opened, signed);
        // Another log's key: refused for its origin.
        let other = SigningKey::from_seed("other.example/log", KeyType::Ed25519, &[3; 32]).unwrap();
        assert!(matches!(
            SignedCheckpoint::verify(signed.to_text().as_bytes(), &other.verifier_key()),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        // Another key with the log's name: the signature is not by a known key.
        let impostor =
            SigningKey::from_seed("certlog.local/log", KeyType::Ed25519, &[4; 32]).unwrap();
        assert!(matches!(
            SignedCheckpoint::verify(signed.to_text().as_bytes(), &impostor.verifier_key()),
            Err(CheckpointError::Note(NoteError::UnverifiedNote(_)))
        ));
        assert!(matches!(
            Checkpoint::new("another/origin", 5, EMPTY_ROOT).sign(&key),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }
}

//! C2SP signed-note: a text ending in a newline, a blank line, then signature lines
//! `— <key name> base64(key ID || signature)`.
//!
//! Parsing keeps every signature; [`Note::verify`] checks those of known keys, ignores the
//! others, rejects the note when a known key's signature fails, and requires one that verifies.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::key::check_key_name;

/// At most this many signature lines are parsed; the spec asks to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// The em dash and space that start a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note holds a control character other than newline.
    #[error("note contains control character 0x{0:02x}")]
    ControlCharacter(u8),
    /// The text does not end in a newline.
    #[error("note text does not end in a newline")]
    MissingNewline,
    /// There is no blank line between text and signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureBlock,
    /// A signature line is malformed; the line is given.
    #[error("malformed signature line {0:?}")]
    MalformedSignature(String),
    /// A note without signature lines.
    #[error("note has no signatures")]
    NoSignatures,
    /// More signatures than [`MAX_SIGNATURES`].
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A known key signed twice.
    #[error("key {name}+{key_id:08x} signed the note twice")]
    DuplicateSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A known key's signature does not verify: the note is rejected.
    #[error("invalid signature by known key {name}+{key_id:08x}")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No known key signed the note.
    #[error("no signature by a known key{}", known_keys(.0))]
    UnverifiedNote(Vec<String>),
}

fn known_keys(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let mut s = String::from(" (known: ");
    s.push_str(&names.join(", "));
    s.push(')');
    s
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID, the first four bytes of the line's base64.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        let mut line = String::from(SIG_PREFIX);
        line.push_str(&self.name);
        line.push(' ');
        line.push_str(&BASE64.encode(bytes));
        line.push('\n');
        line
    }

    /// Parses a signature line without its newline: the signature block of a note, or a line of a
    /// witness's answer (C2SP tlog-witness).
    pub fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let malformed = || NoteError::MalformedSignature(line.into());
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or_else(malformed)?;
        check_key_name(name).map_err(|_| malformed())?;
        let bytes = BASE64.decode(b64).map_err(|_| malformed())?;
        if bytes.len() < 5 {
            return Err(malformed());
        }
        let (id, signature) = bytes.split_at(4);
        Ok(NoteSignature {
            name: name.into(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: signature.to_vec(),
        })
    }
}

/// A key that can check note signatures.
pub trait NoteVerifier {
    /// The key name.
    fn name(&self) -> &str;
    /// The key ID.
    fn key_id(&self) -> u32;
    /// Whether `signature` (the bytes after the key ID) signs `text`.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// A signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the character rules of signed-note "Format": UTF-8 without control characters
/// other than newline.
fn check_characters(bytes: &[u8]) -> Result<&str, NoteError> {
    if let Some(&c) = bytes.iter().find(|&&b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter(c));
    }
    core::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_characters(text.as_bytes())?;
        if !text.ends_with('\n') {
            return Err(NoteError::MissingNewline);
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Signatures are not checked here: see [`Note::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let all = check_characters(bytes)?;
        if !all.ends_with('\n') {
            return Err(NoteError::MissingNewline);
        }
        // The text ends at the last blank line; it keeps its own final newline.
        let split = all.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, block) = (&all[..=split], &all[split + 2..]);
        let mut signatures = Vec::new();
        for line in block.split_terminator('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        Ok(Note {
            text: text.into(),
            signatures,
        })
    }

    /// The note text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line, known or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line. A line of the same key replaces the old one.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == signature.name && s.key_id == signature.key_id));
        self.signatures.push(signature);
    }

    /// The signatures of `verifiers` that are on the note, all checked: the note is rejected when
    /// a known key's signature fails, or when no known key signed it.
    pub fn verify<V: NoteVerifier + ?Sized>(
        &self,
        verifiers: &[&V],
    ) -> Result<Vec<&NoteSignature>, NoteError> {
        let verified = self.verify_known(verifiers)?;
        if verified.is_empty() {
            return Err(NoteError::UnverifiedNote(
                verifiers.iter().map(|v| v.name().into()).collect(),
            ));
        }
        Ok(verified)
    }

    /// Like [`Note::verify`], but a note that none of `verifiers` signed gives an empty list: for
    /// optional signers such as witnesses, counted against a quorum by the caller.
    pub fn verify_known<V: NoteVerifier + ?Sized>(
        &self,
        verifiers: &[&V],
    ) -> Result<Vec<&NoteSignature>, NoteError> {
        let mut verified: Vec<&NoteSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = verifiers
                .iter()
                .find(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            else {
                continue; // unknown key: ignored
            };
            if verified
                .iter()
                .any(|s| s.name == sig.name && s.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            verified.push(sig);
        }
        Ok(verified)
    }

    /// The signed note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyType, SigningKey, VerifierKey};
    use alloc::format;
    use alloc::string::ToString;

    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    // The signed note of Go's note_test.go TestSign, byte for byte.
    const GO_SIGNED: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn go_keys() -> (SigningKey, VerifierKey) {
        (
            SigningKey::from_private_string(GO_SKEY).unwrap(),
            GO_VKEY.parse().unwrap(),
        )
    }

    #[test]
    fn signing_reproduces_go_sumdb_note() {
        let (skey, vkey) = go_keys();
        let text = "If you think cryptography is the answer to your problem,\n\
            then you don't know what your problem is.\n";
        let mut note = Note::new(text).unwrap();
        note.add_signature(skey.sign_note(text).unwrap());
        assert_eq!(note.to_text(), GO_SIGNED);
        let parsed = Note::parse(GO_SIGNED.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.verify(&[&vkey]).unwrap().len(), 1);
    }

    #[test]
    fn unknown_signatures_are_ignored_and_a_known_one_is_required() {
        let (skey, vkey) = go_keys();
        let other = SigningKey::from_seed("other.example", KeyType::Ed25519, &[1; 32]).unwrap();
        let mut note = Note::new("hello\n").unwrap();
        note.add_signature(other.sign_note("hello\n").unwrap());
        assert!(matches!(
            note.verify(&[&vkey]),
            Err(NoteError::UnverifiedNote(_))
        ));
        note.add_signature(skey.sign_note("hello\n").unwrap());
        assert_eq!(note.verify(&[&vkey]).unwrap()[0].name, "PeterNeumann");
        // A signature with the known name but another ID is someone else's key: ignored.
        let mut same_name = Note::parse(note.to_text().as_bytes()).unwrap();
        same_name.signatures.insert(
            0,
            NoteSignature {
                name: "PeterNeumann".into(),
                key_id: 1,
                signature: alloc::vec![0; 64],
            },
        );
        assert!(same_name.verify(&[&vkey]).is_ok());
    }

    #[test]
    fn a_failing_known_signature_rejects_the_note() {
        let (skey, vkey) = go_keys();
        let mut note = Note::new("hello\n").unwrap();
        let mut sig = skey.sign_note("hello\n").unwrap();
        sig.signature[0] ^= 1;
        note.add_signature(sig);
        assert!(matches!(
            note.verify(&[&vkey]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn sixteen_signatures_are_accepted() {
        let (skey, vkey) = go_keys();
        let mut note = Note::new("many\n").unwrap();
        for i in 0..15u8 {
            let k = SigningKey::from_seed(&format!("w{i}.example"), KeyType::Ed25519, &[i; 32])
                .unwrap();
            note.add_signature(k.sign_note("many\n").unwrap());
        }
        note.add_signature(skey.sign_note("many\n").unwrap());
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(parsed.signatures().len(), 16);
        assert!(parsed.verify(&[&vkey]).is_ok());
    }

    #[test]
    fn text_may_hold_blank_lines() {
        let (skey, vkey) = go_keys();
        let text = "first\n\nthird\n";
        let mut note = Note::new(text).unwrap();
        note.add_signature(skey.sign_note(text).unwrap());
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert!(parsed.verify(&[&vkey]).is_ok());
    }

    #[test]
    fn malformed_notes_are_refused() {
        let sig = GO_SIGNED.rsplit_once("\n\n").unwrap().1.to_string();
        let cases: &[(&[u8], NoteError)] = &[
            (b"no newline", NoteError::MissingNewline),
            (b"text\n", NoteError::MissingSignatureBlock),
            (b"text\n\n", NoteError::NoSignatures),
            (b"te\x01xt\n\n", NoteError::ControlCharacter(1)),
            (b"te\rxt\n\n", NoteError::ControlCharacter(b'\r')),
            (b"text\xff\n\n", NoteError::NotUtf8),
            (
                b"text\n\n- PeterNeumann AAAAAAA=\n",
                NoteError::MalformedSignature("- PeterNeumann AAAAAAA=".into()),
            ),
            (
                "text\n\n\u{2014} PeterNeumann AAAA\n".as_bytes(),
                NoteError::MalformedSignature("\u{2014} PeterNeumann AAAA".into()),
            ),
            (
                "text\n\n\u{2014} PeterNeumann\n".as_bytes(),
                NoteError::MalformedSignature("\u{2014} PeterNeumann".into()),
            ),
            (
                "text\n\n\u{2014} Peter+Neumann AAAAAAA=\n".as_bytes(),
                NoteError::MalformedSignature("\u{2014} Peter+Neumann AAAAAAA=".into()),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                Note::parse(bytes).as_ref(),
                Err(want),
                "{:?}",
                alloc::string::String::from_utf8_lossy(bytes)
            );
        }
        let mut too_many = String::from("text\n\n");
        for _ in 0..=MAX_SIGNATURES {
            too_many.push_str(&sig);
        }
        assert_eq!(
            Note::parse(too_many.as_bytes()),
            Err(NoteError::TooManySignatures)
        );
        assert_eq!(Note::new("no newline"), Err(NoteError::MissingNewline));
    }

    #[test]
    fn duplicate_known_signatures_are_refused() {
        let (_, vkey) = go_keys();
        let doubled = format!("{GO_SIGNED}{}", GO_SIGNED.rsplit_once("\n\n").unwrap().1);
        let note = Note::parse(doubled.as_bytes()).unwrap();
        assert!(matches!(
            note.verify(&[&vkey]),
            Err(NoteError::DuplicateSignature { .. })
        ));
    }
}

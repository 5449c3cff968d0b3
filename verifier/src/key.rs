//! Ed25519 note keys (C2SP signed-note, "Signatures" and "Verifier keys"): key IDs, verifier
//! keys in the `name+hex8(keyID)+base64(type || public key)` form, and private keys in the
//! `PRIVATE+KEY+name+hex8(keyID)+base64(type || seed)` form that Go's sumdb/note writes.
//!
//! Two signature types share these encodings: 0x01, Ed25519 over the note text, for logs and
//! certifiers, and 0x04, timestamped Ed25519 cosignatures (C2SP tlog-cosignature v1) for witnesses.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
#[cfg(feature = "std")]
use hex_literal::hex;
use sha2::{Digest, Sha256};

use crate::note::{NoteSignature, NoteVerifier};

/// The signature type of a key: the byte that goes into its key ID and encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text (signed-note).
    Ed25519,
    /// 0x04: timestamped Ed25519 witness cosignature (tlog-cosignature v1).
    CosignatureV1,
}

impl KeyType {
    /// The signature type identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<KeyType> {
        match b {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::CosignatureV1),
            _ => None,
        }
    }
}

/// Why a key string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not three `+`-separated fields (five for a private key).
    #[error("malformed key: expected {0}")]
    Malformed(&'static str),
    /// The key name is empty or holds a space or `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidName(String),
    /// The key ID is not 8 lowercase hex digits.
    #[error("invalid key ID {0:?}: expected 8 hex digits")]
    InvalidKeyId(String),
    /// The key material is not base64.
    #[error("key material is not base64")]
    InvalidBase64,
    /// The signature type byte is not one certlog uses.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedType(u8),
    /// The key is not 32 bytes or not a valid Ed25519 point.
    #[error("invalid Ed25519 key")]
    InvalidKey,
    /// The key ID does not match the name and key.
    #[error("key ID {given:08x} does not match the key (computed {computed:08x})")]
    KeyIdMismatch {
        /// The ID in the string.
        given: u32,
        /// The ID of the name and key.
        computed: u32,
    },
    /// The key is of another signature type than the use needs.
    #[error("key {name} has type 0x{got:02x}, 0x{want:02x} needed")]
    WrongType {
        /// The key's name.
        name: String,
        /// Its type byte.
        got: u8,
        /// The type needed.
        want: u8,
    },
}

/// The key ID: the first four bytes of SHA-256(name || 0x0A || type || public key), big-endian.
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type.byte()]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Checks a key name: non-empty, no Unicode space, no `+` (signed-note "Format").
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::InvalidName(name.into()));
    }
    Ok(())
}

fn parse_key_id(text: &str) -> Result<u32, KeyError> {
    let valid = text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit());
    valid
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
        .ok_or_else(|| KeyError::InvalidKeyId(text.into()))
}

/// Splits `name+hex8+base64(type || 32 bytes)` into its name, type and 32 bytes, checking the name.
fn split_key(text: &str) -> Result<(&str, u32, KeyType, [u8; 32]), KeyError> {
    // The base64 key material may itself contain '+': it is the rest after two separators.
    let mut fields = text.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(KeyError::Malformed("name+keyid+base64"));
    };
    check_key_name(name)?;
    let id = parse_key_id(id)?;
    let bytes = BASE64
        .decode(material)
        .map_err(|_| KeyError::InvalidBase64)?;
    let (&type_byte, key) = bytes.split_first().ok_or(KeyError::InvalidKey)?;
    let key_type = KeyType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
    let key: [u8; 32] = key.try_into().map_err(|_| KeyError::InvalidKey)?;
    Ok((name, id, key_type, key))
}

fn encode_key(name: &str, id: u32, key_type: KeyType, key: &[u8; 32]) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(key_type.byte());
    material.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", BASE64.encode(material))
}

/// A public key that verifies note signatures: a log's, a certifier's or a witness's.
#[derive(Clone)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key_type: KeyType,
    key: ed25519_dalek::VerifyingKey,
    /// A key of small order, which `verify_strict` refuses: checked once, here, for the tables.
    #[cfg(feature = "std")]
    weak: bool,
    /// The key's multiples, once [`VerifierKey::precompute`] has built them.
    #[cfg(feature = "std")]
    table: Option<alloc::sync::Arc<crate::precomputed::KeyTable>>,
}

impl PartialEq for VerifierKey {
    /// The same name, type and key (with or without a table).
    fn eq(&self, other: &VerifierKey) -> bool {
        (&self.name, self.id, self.key_type, &self.key)
            == (&other.name, other.id, other.key_type, &other.key)
    }
}

impl Eq for VerifierKey {}

/// The canonical encodings of the eight points of small order (the torsion subgroup E[8]),
/// which `verify_strict` refuses as R: the identity, the point of order 2, the two of order 4
/// and the four of order 8 (a test checks them against curve25519-dalek's `EIGHT_TORSION`).
#[cfg(feature = "std")]
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = [
    hex!("0100000000000000000000000000000000000000000000000000000000000000"),
    hex!("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex!("0000000000000000000000000000000000000000000000000000000000000000"),
    hex!("0000000000000000000000000000000000000000000000000000000000000080"),
    hex!("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex!("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    hex!("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex!("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
];

impl VerifierKey {
    /// A verifier key from its parts.
    pub fn new(
        name: &str,
        key_type: KeyType,
        key: ed25519_dalek::VerifyingKey,
    ) -> Result<VerifierKey, KeyError> {
        check_key_name(name)?;
        Ok(VerifierKey {
            name: name.into(),
            id: key_id(name, key_type, key.as_bytes()),
            key_type,
            #[cfg(feature = "std")]
            weak: key.is_weak(),
            key,
            #[cfg(feature = "std")]
            table: None,
        })
    }

    /// Builds the tables that verify this key's signatures in half the time (see
    /// [`crate::precomputed`]): 640 KiB, about 1.5 ms. Worth it for a key met many times.
    #[cfg(feature = "std")]
    pub fn precompute(&mut self) {
        if self.table.is_none() {
            self.table = Some(alloc::sync::Arc::new(crate::precomputed::KeyTable::new(
                &self.key,
            )));
        }
    }

    /// Whether [`VerifierKey::precompute`] built this key's tables.
    #[cfg(feature = "std")]
    pub fn is_precomputed(&self) -> bool {
        self.table.is_some()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Refuses a key of another type than `want`.
    pub fn expect_type(&self, want: KeyType) -> Result<&VerifierKey, KeyError> {
        if self.key_type != want {
            return Err(KeyError::WrongType {
                name: self.name.clone(),
                got: self.key_type.byte(),
                want: want.byte(),
            });
        }
        Ok(self)
    }

    /// Verifies a plain Ed25519 signature over `message` with ed25519-dalek's `verify_strict`
    /// (RFC 8032 5.1.7 with no malleable signature and no key or R of small order): what a
    /// device runs.
    ///
    /// A key with tables ([`VerifierKey::precompute`], with std: the log's keys met often)
    /// recomputes R from them instead, and accepts exactly what `verify_strict` accepts: `verify`
    /// compares R's canonical encoding with the signature's, so R is of small order exactly when
    /// its bytes are one of the eight encodings of such points, and the key is checked once,
    /// when it is parsed (`tests/strict_verification.rs` compares them on every kind of input).
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        #[cfg(feature = "std")]
        if let Some(table) = &self.table {
            if self.weak || SMALL_ORDER_ENCODINGS.contains(sig.r_bytes()) {
                return false;
            }
            return table.verify(message, &sig);
        }
        self.key.verify_strict(message, &sig).is_ok()
    }
}

impl NoteVerifier for VerifierKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        match self.key_type {
            KeyType::Ed25519 => self.verify_bytes(text, signature),
            KeyType::CosignatureV1 => crate::cosignature::verify(self, text, signature),
        }
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    /// Parses a vkey, `name+hex8(keyID)+base64(type || public key)`, checking its key ID.
    fn from_str(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, given, key_type, key) = split_key(text.trim())?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| KeyError::InvalidKey)?;
        let vkey = VerifierKey::new(name, key_type, key)?;
        if vkey.id != given {
            return Err(KeyError::KeyIdMismatch {
                given,
                computed: vkey.id,
            });
        }
        Ok(vkey)
    }
}

impl fmt::Display for VerifierKey {
    /// The vkey string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_key(
            &self.name,
            self.id,
            self.key_type,
            self.key.as_bytes(),
        ))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// A private key that signs notes (type 0x01) or cosignatures (type 0x04).
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    id: u32,
    key_type: KeyType,
    key: ed25519_dalek::SigningKey,
}

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

impl SigningKey {
    /// A signing key from a name and a 32-byte Ed25519 seed (random bytes from the caller: the
    /// crate has no source of randomness of its own).
    pub fn from_seed(
        name: &str,
        key_type: KeyType,
        seed: &[u8; 32],
    ) -> Result<SigningKey, KeyError> {
        check_key_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        Ok(SigningKey {
            name: name.into(),
            id: key_id(name, key_type, key.verifying_key().as_bytes()),
            key_type,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+name+hex8(keyID)+base64(type || seed)`, checking its key ID.
    pub fn from_private_string(text: &str) -> Result<SigningKey, KeyError> {
        let rest = text
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::Malformed("PRIVATE+KEY+name+keyid+base64"))?;
        let (name, given, key_type, seed) = split_key(rest)?;
        let signing = SigningKey::from_seed(name, key_type, &seed)?;
        if signing.id != given {
            return Err(KeyError::KeyIdMismatch {
                given,
                computed: signing.id,
            });
        }
        Ok(signing)
    }

    /// The private key string. Secret: write it only to a file only its owner can read.
    pub fn to_private_string(&self) -> String {
        let mut s = PRIVATE_PREFIX.to_string();
        s.push_str(&encode_key(
            &self.name,
            self.id,
            self.key_type,
            self.key.as_bytes(),
        ));
        s
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key_type: self.key_type,
            #[cfg(feature = "std")]
            weak: key.is_weak(),
            key,
            #[cfg(feature = "std")]
            table: None,
        }
    }

    /// A plain Ed25519 signature over `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The note signature line of this key over `text`, for a key of type 0x01.
    pub fn sign_note(&self, text: &str) -> Result<NoteSignature, KeyError> {
        self.expect_type(KeyType::Ed25519)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            signature: self.sign_bytes(text.as_bytes()).to_vec(),
        })
    }

    /// Refuses a key of another type than `want`.
    pub fn expect_type(&self, want: KeyType) -> Result<&SigningKey, KeyError> {
        if self.key_type != want {
            return Err(KeyError::WrongType {
                name: self.name.clone(),
                got: self.key_type.byte(),
                want: want.byte(),
            });
        }
        Ok(self)
    }
}

impl fmt::Debug for SigningKey {
    /// Never shows the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}+{:08x})", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test keys of Go's golang.org/x/mod/sumdb/note (note_test.go), repeated in the C2SP examples.
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    #[test]
    fn small_order_encodings_are_those_of_the_torsion_subgroup() {
        let mut torsion: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        let mut ours = SMALL_ORDER_ENCODINGS.to_vec();
        torsion.sort();
        ours.sort();
        assert_eq!(ours, torsion);
    }

    #[test]
    fn go_test_keys_round_trip() {
        let vkey: VerifierKey = GO_VKEY.parse().unwrap();
        assert_eq!(vkey.name(), "PeterNeumann");
        assert_eq!(vkey.key_id(), 0xc74f20a3);
        assert_eq!(vkey.to_string(), GO_VKEY);
        let skey = SigningKey::from_private_string(GO_SKEY).unwrap();
        assert_eq!(skey.verifier_key(), vkey);
        assert_eq!(skey.to_private_string(), GO_SKEY);
    }

    #[test]
    fn c2sp_example_vkey_parses() {
        let vkey: VerifierKey =
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
                .parse()
                .unwrap();
        assert_eq!(vkey.key_id(), 0x530d903a);
    }

    #[test]
    fn malformed_keys_are_refused() {
        let cases = [
            ("", KeyError::Malformed("name+keyid+base64")),
            (
                "PeterNeumann+c74f20a3",
                KeyError::Malformed("name+keyid+base64"),
            ),
            (
                "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyError::InvalidName("".into()),
            ),
            (
                "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyError::InvalidName("Peter Neumann".into()),
            ),
            (
                "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyError::InvalidKeyId("c74f20a".into()),
            ),
            ("PeterNeumann+c74f20a3+!!!", KeyError::InvalidBase64),
            (
                "PeterNeumann+c74f20a3+AhpcAA==",
                KeyError::UnsupportedType(2),
            ),
            ("PeterNeumann+c74f20a3+ARpc2Q==", KeyError::InvalidKey),
            (
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                KeyError::KeyIdMismatch {
                    given: 0xc74f20a4,
                    computed: 0xc74f20a3,
                },
            ),
            (
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+extra",
                KeyError::InvalidBase64,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<VerifierKey>(), Err(want), "{text:?}");
        }
        assert!(SigningKey::from_private_string(GO_VKEY).is_err());
    }

    #[test]
    fn cosignature_keys_use_type_4_in_the_key_id() {
        let seed = [7u8; 32];
        let note_key = SigningKey::from_seed("witness.example", KeyType::Ed25519, &seed).unwrap();
        let cosigner =
            SigningKey::from_seed("witness.example", KeyType::CosignatureV1, &seed).unwrap();
        assert_ne!(note_key.key_id(), cosigner.key_id());
        let vkey = cosigner.verifier_key();
        assert_eq!(vkey.to_string().parse::<VerifierKey>().unwrap(), vkey);
        assert!(cosigner.sign_note("text\n").is_err());
    }
}

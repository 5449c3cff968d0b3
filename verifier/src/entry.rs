//! Log entries (DESIGN "What is in the log"): a leaf is the exact bytes of one `Entry`, in
//! canonical protobuf encoding and at most 65,535 bytes; a `SignedStatement` carries the
//! Ed25519 signature of its signer over `certlog/v1/statement\n` || the statement bytes.

use alloc::string::String;
use alloc::vec::Vec;

use prost::Message as _;

use crate::key::{KeyError, KeyType, SigningKey, VerifierKey};
use crate::proto::{Entry, SignedStatement, Statement, entry, statement};

/// The largest entry a log accepts: C2SP tlog-tiles entry bundles write an entry's length in
/// two bytes.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
/// The context that separates statement signatures from every other use of a key.
pub const STATEMENT_CONTEXT: &[u8] = b"certlog/v1/statement\n";

/// Why entry bytes are not a well-formed entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Over 65,535 bytes.
    #[error("entry of {0} bytes is over the 65,535-byte limit")]
    TooLarge(usize),
    /// Not a protobuf `Entry`.
    #[error("entry is not a valid certlog.v1.Entry: {0}")]
    Decode(String),
    /// Decodes, but is not the canonical encoding of what it decodes to (unknown fields,
    /// repeated or reordered fields): one meaning must have one leaf.
    #[error("entry is not canonically encoded (unknown, repeated or reordered fields)")]
    NotCanonical,
    /// The entry has no body, or the statement none.
    #[error("entry has no {0}")]
    Empty(&'static str),
    /// The signature is not by the key it names, or does not verify.
    #[error("statement signature by {signer}+{key_id:08x} does not verify")]
    BadSignature {
        /// The signer named in the entry.
        signer: String,
        /// The key ID named.
        key_id: u32,
    },
    /// The key cannot sign or verify statements.
    #[error("statement key: {0}")]
    Key(#[from] KeyError),
}

/// Decodes a protobuf message, requiring its canonical encoding.
fn decode_canonical<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, EntryError> {
    let message = M::decode(bytes).map_err(|e| EntryError::Decode(alloc::format!("{e}")))?;
    if message.encoded_len() != bytes.len() || message.encode_to_vec() != bytes {
        return Err(EntryError::NotCanonical);
    }
    Ok(message)
}

/// Decodes an entry as logged.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, EntryError> {
    if bytes.len() > MAX_ENTRY_SIZE {
        return Err(EntryError::TooLarge(bytes.len()));
    }
    let entry: Entry = decode_canonical(bytes)?;
    if entry.body.is_none() {
        return Err(EntryError::Empty("body"));
    }
    Ok(entry)
}

/// Decodes the statement inside a signed statement.
pub fn decode_statement(signed: &SignedStatement) -> Result<Statement, EntryError> {
    let statement: Statement = decode_canonical(&signed.statement)?;
    if statement.body.is_none() {
        return Err(EntryError::Empty("statement body"));
    }
    Ok(statement)
}

/// The signed statement of an entry, if it holds one.
pub fn signed_statement(entry: &Entry) -> Option<&SignedStatement> {
    match &entry.body {
        Some(entry::Body::SignedStatement(s)) => Some(s),
        _ => None,
    }
}

/// The message a statement signature covers.
fn signed_message(statement: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(STATEMENT_CONTEXT.len() + statement.len());
    message.extend_from_slice(STATEMENT_CONTEXT);
    message.extend_from_slice(statement);
    message
}

/// Signs a statement with a certifier's (or the operator's) key of type 0x01.
pub fn sign_statement(
    key: &SigningKey,
    body: statement::Body,
) -> Result<SignedStatement, EntryError> {
    key.expect_type(KeyType::Ed25519)?;
    let statement = Statement { body: Some(body) }.encode_to_vec();
    Ok(SignedStatement {
        signature: key.sign_bytes(&signed_message(&statement)).to_vec(),
        statement,
        signer: key.name().into(),
        key_id: key.key_id(),
    })
}

/// The entry bytes of a signed statement, ready to submit.
pub fn encode_entry(signed: SignedStatement) -> Vec<u8> {
    Entry {
        body: Some(entry::Body::SignedStatement(signed)),
    }
    .encode_to_vec()
}

/// Checks that `key` signed the statement, under the name and key ID the statement gives.
///
/// One statement at a time, accepting exactly what `verify_strict` accepts (see
/// `VerifierKey::verify_bytes`), also where the log takes many at once
/// (`SubmitBatch`): ed25519-dalek's `verify_batch` checks a cofactorless equation only up to a
/// linear combination whose coefficients a signer can grind, so it accepts, with probability
/// 1/2, a signature whose R is moved by a point of order 2, which `verify_strict` and every
/// auditor replaying the log refuse (tests/strict_verification.rs). The subgroup check on each R
/// that would close the gap costs more than the batch saves (benches/verify.rs).
pub fn verify_statement(signed: &SignedStatement, key: &VerifierKey) -> Result<(), EntryError> {
    let ok = key.key_type() == KeyType::Ed25519
        && signed.signer == key.name()
        && signed.key_id == key.key_id()
        && key.verify_bytes(&signed_message(&signed.statement), &signed.signature);
    if !ok {
        return Err(EntryError::BadSignature {
            signer: signed.signer.clone(),
            key_id: signed.key_id,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{CertifierRetired, MapHead};
    use alloc::vec;

    fn operator() -> SigningKey {
        SigningKey::from_seed("operator.example", KeyType::Ed25519, &[5; 32]).unwrap()
    }

    fn retire() -> statement::Body {
        statement::Body::CertifierRetired(CertifierRetired {
            name: "cb.example".into(),
            reason: "closed".into(),
            retired_at: 1,
            compromised_since: 0,
        })
    }

    #[test]
    fn sign_encode_decode_verify() {
        let key = operator();
        let bytes = encode_entry(sign_statement(&key, retire()).unwrap());
        let entry = decode_entry(&bytes).unwrap();
        let signed = signed_statement(&entry).unwrap();
        verify_statement(signed, &key.verifier_key()).unwrap();
        assert_eq!(decode_statement(signed).unwrap().body, Some(retire()));
        let other = SigningKey::from_seed("operator.example", KeyType::Ed25519, &[6; 32]).unwrap();
        assert!(matches!(
            verify_statement(signed, &other.verifier_key()),
            Err(EntryError::BadSignature { .. })
        ));
    }

    #[test]
    fn tampered_statement_fails() {
        let key = operator();
        let mut signed = sign_statement(&key, retire()).unwrap();
        let last = signed.statement.len() - 1;
        signed.statement[last] ^= 1;
        assert!(verify_statement(&signed, &key.verifier_key()).is_err());
    }

    #[test]
    fn non_canonical_and_oversized_entries_are_refused() {
        let bytes = encode_entry(sign_statement(&operator(), retire()).unwrap());
        // An unknown field appended: decodes, but is not canonical.
        let mut extra = bytes.clone();
        extra.extend_from_slice(&[0x78, 0x01]);
        assert_eq!(decode_entry(&extra), Err(EntryError::NotCanonical));
        // The same field twice.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        assert_eq!(decode_entry(&twice), Err(EntryError::NotCanonical));
        assert!(matches!(
            decode_entry(&bytes[..bytes.len() - 1]),
            Err(EntryError::Decode(_))
        ));
        assert_eq!(
            decode_entry(&vec![0; 65_536]),
            Err(EntryError::TooLarge(65_536))
        );
        assert_eq!(decode_entry(&[]), Err(EntryError::Empty("body")));
        let head = Entry {
            body: Some(entry::Body::MapHead(MapHead::default())),
        }
        .encode_to_vec();
        assert!(decode_entry(&head).is_ok());
    }
}

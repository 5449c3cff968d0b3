//! Proof bundles (DESIGN "Proof bundle"): checking a certificate offline, with only the log's
//! key, optional witness keys, and the time given by the caller (the crate has no clock).
//!
//! A bundle answers one question, the caller's: what is the standing of the certificate with
//! this scheme and ID (and, if the caller knows it, this certifier)? [`verify_bundle`] takes
//! that identity as an [`Expected`], and a bundle of any other certificate does not verify,
//! however valid it is otherwise.
//!
//! It checks, in order: the checkpoint's signature and the witness quorum; that the tree
//! extends the one the device trusts, if any (rollback protection); the inclusion of the
//! checkpoint's last entry, a map head, and its freshness; that the bundle is for the expected
//! certificate; the issuing entry, whose leaf hash its status record holds; the certifier's
//! record under the map head
//! (its keys over time, its schemes, whether it was found compromised); the certifier's
//! signature, with the key it had at the entry; the certificate's fields (docs/trust.md "Identifiers and text"); the
//! status record against the map head (or the certificate's absence); the firmware digest, an
//! extra condition on top of the identity; the validity dates.
//!
//! ```
//! use certlog_verifier::bundle::{verify_bundle, Expected, Options, Policy, Standing};
//! # fn check(bundle_bytes: &[u8], log_vkey: &str, now: i64) -> Result<(), Box<dyn core::error::Error>> {
//! let log_key = log_vkey.parse()?;
//! let policy = Policy { log_key: &log_key, witnesses: &[], quorum: 0 };
//! // The certificate the device was built to carry, written into its firmware.
//! let expected = Expected::new("EUCC", "EUCC-3095-2026-11-0042").certifier("cb.example/eucc");
//! let options = Options { now, max_age: Some(86_400), ..Options::default() };
//! let verified = verify_bundle(bundle_bytes, &policy, &expected, &options)?;
//! if verified.standing == Standing::Active {
//!     // boot
//! }
//! // Keep verified.tree() as the trusted tree for the next bundle.
//! # Ok(()) }
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use prost::Message as _;

use crate::certificate::{
    self, CertificateError, certifier_key, certifier_record_hash, status_key, status_record_hash,
};
use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::cosignature::{Cosignature, CosignatureError};
use crate::entry::{self, EntryError};
use crate::key::VerifierKey;
use crate::merkle::{self, Hash, ProofError, leaf_hash};
use crate::proto::{
    Certificate, CertificateStatus, CertifierRecord, MapHead, ProofBundle, StatusRecord,
    entry as entry_pb, statement,
};
use crate::status_map::{self, StatusProofError};

/// Whom the verifier trusts.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    /// The log's key.
    pub log_key: &'a VerifierKey,
    /// Witness cosigning keys (type 0x04).
    pub witnesses: &'a [VerifierKey],
    /// How many of them must have cosigned the checkpoint.
    pub quorum: usize,
}

/// A tree the verifier already trusts: the last one it accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedTree {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

/// The certificate the verifier asks about. Identifiers are compared byte for byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    /// Its scheme.
    pub scheme: &'a str,
    /// Its ID within the scheme.
    pub certificate_id: &'a str,
    /// The certifier that must have issued it (its key name), when the verifier knows it.
    pub certifier: Option<&'a str>,
}

impl<'a> Expected<'a> {
    /// The certificate with this scheme and ID, whoever issued it.
    pub fn new(scheme: &'a str, certificate_id: &'a str) -> Expected<'a> {
        Expected {
            scheme,
            certificate_id,
            certifier: None,
        }
    }

    /// The same, issued by this certifier only.
    pub fn certifier(self, name: &'a str) -> Expected<'a> {
        Expected {
            certifier: Some(name),
            ..self
        }
    }
}

impl core::fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}/{:?}", self.scheme, self.certificate_id)?;
        match self.certifier {
            Some(name) => write!(f, " issued by {name:?}"),
            None => Ok(()),
        }
    }
}

/// What the verifier asks, besides the certificate and the proofs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The current time, seconds since the Unix epoch.
    pub now: i64,
    /// The oldest map head accepted, in seconds before `now`.
    pub max_age: Option<u64>,
    /// The SHA-256 of the firmware the certificate must list.
    pub firmware_sha256: Option<[u8; 32]>,
    /// The tree the verifier trusts: the bundle's tree must extend it.
    pub trusted: Option<TrustedTree>,
}

/// The standing of a certificate, once everything verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Issued, active and within its validity dates.
    Active,
    /// Suspended by its certifier.
    Suspended,
    /// Revoked by its certifier (final).
    Revoked,
    /// Withdrawn by its certifier (final).
    Withdrawn,
    /// Active, but past its `not_after`.
    Expired,
    /// Active, but before its `not_before`.
    NotYetValid,
    /// Not in the log: proven absent from the status map.
    Absent,
    /// Revoked with every certificate its certifier logged after its key was compromised (as
    /// the operator retired it), whatever its own status record says.
    CertifierCompromised,
}

impl Standing {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Suspended => "suspended",
            Standing::Revoked => "revoked",
            Standing::Withdrawn => "withdrawn",
            Standing::Expired => "expired",
            Standing::NotYetValid => "not yet valid",
            Standing::Absent => "absent",
            Standing::CertifierCompromised => "revoked: certifier compromised",
        }
    }
}

/// What a verified bundle shows.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The certificate's standing.
    pub standing: Standing,
    /// The certificate's scheme.
    pub scheme: String,
    /// Its ID.
    pub certificate_id: String,
    /// The checkpoint everything was proven against.
    pub checkpoint: SignedCheckpoint,
    /// The witnesses that cosigned it.
    pub cosignatures: Vec<Cosignature>,
    /// The map head the status was proven under.
    pub map_head: MapHead,
    /// The certificate, when in the log.
    pub certificate: Option<Certificate>,
    /// Its status record, when in the log.
    pub record: Option<StatusRecord>,
    /// The record of the certifier that issued it, when in the log.
    pub certifier: Option<CertifierRecord>,
}

impl Verified {
    /// The tree to trust from now on.
    pub fn tree(&self) -> TrustedTree {
        TrustedTree {
            size: self.checkpoint.checkpoint.size,
            root: self.checkpoint.checkpoint.root,
        }
    }
}

/// Which check of a bundle failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a ProofBundle.
    #[error("not a proof bundle: {0}")]
    Decode(String),
    /// The checkpoint is malformed or not signed by the log.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The witness quorum is not met, or a cosignature is invalid.
    #[error("witnesses: {0}")]
    Cosignatures(#[from] CosignatureError),
    /// The bundle's tree is older than the trusted one.
    #[error("rollback: the bundle's tree of size {got} is older than the trusted size {trusted}")]
    Rollback {
        /// The trusted size.
        trusted: u64,
        /// The bundle's size.
        got: u64,
    },
    /// The bundle's tree does not extend the trusted one.
    #[error(
        "the bundle's tree is not consistent with the trusted tree of size {trusted}: {reason}"
    )]
    Inconsistent {
        /// The trusted size.
        trusted: u64,
        /// Why.
        reason: String,
    },
    /// An inclusion proof fails.
    #[error("{what} is not in the checkpoint: {error}")]
    Inclusion {
        /// Which entry.
        what: &'static str,
        /// Why.
        error: ProofError,
    },
    /// An entry is malformed.
    #[error("{what}: {error}")]
    Entry {
        /// Which entry.
        what: &'static str,
        /// Why.
        error: EntryError,
    },
    /// A part of the bundle is missing or of the wrong kind.
    #[error("{0}")]
    Malformed(&'static str),
    /// The certifier's signature on the certificate does not verify.
    #[error("the certifier's signature does not verify: {0}")]
    CertifierSignature(EntryError),
    /// The map head is older than allowed.
    #[error("stale: the map head is {age} s old, more than the {max_age} s allowed")]
    Stale {
        /// Its age in seconds.
        age: i64,
        /// The limit.
        max_age: u64,
    },
    /// The status proof fails.
    #[error("status: {0}")]
    StatusProof(#[from] StatusProofError),
    /// The certifier's record is not in the map head's status map.
    #[error("certifier: {0}")]
    CertifierProof(StatusProofError),
    /// The bundle is about another certificate than the one asked about.
    #[error("the bundle is for {found}, not for the expected {expected}")]
    OtherCertificate {
        /// What the bundle is for.
        found: String,
        /// What the verifier asked about.
        expected: String,
    },
    /// The certificate breaks the log's rules for its fields.
    #[error("the certificate breaks the log's rules: {0}")]
    Certificate(#[from] CertificateError),
    /// The certificate does not list the firmware.
    #[error("the certificate does not list firmware with SHA-256 {0}")]
    FirmwareNotListed(String),
}

fn decode_entry(what: &'static str, bytes: &[u8]) -> Result<entry_pb::Body, BundleError> {
    entry::decode_entry(bytes)
        .map_err(|error| BundleError::Entry { what, error })?
        .body
        .ok_or(BundleError::Malformed("an entry has no body"))
}

fn proof_hashes(raw: &[Vec<u8>]) -> Result<Vec<Hash>, BundleError> {
    raw.iter()
        .map(|h| Hash::from_slice(h).ok_or(BundleError::Malformed("a proof hash is not 32 bytes")))
        .collect()
}

fn check_inclusion(
    what: &'static str,
    bytes: &[u8],
    index: u64,
    proof: &[Vec<u8>],
    checkpoint: &SignedCheckpoint,
) -> Result<(), BundleError> {
    let c = &checkpoint.checkpoint;
    merkle::verify_inclusion(
        &leaf_hash(bytes),
        index,
        c.size,
        &proof_hashes(proof)?,
        &c.root,
    )
    .map_err(|error| BundleError::Inclusion { what, error })
}

/// Checks a proof bundle: see the module documentation for what, in which order.
pub fn verify_bundle(
    bytes: &[u8],
    policy: &Policy<'_>,
    expected: &Expected<'_>,
    options: &Options,
) -> Result<Verified, BundleError> {
    // Protobuf decodes no bytes as an empty message: say what it is, not which check failed.
    if bytes.is_empty() {
        return Err(BundleError::Decode("there are no bytes at all".into()));
    }
    let b = ProofBundle::decode(bytes).map_err(|e| BundleError::Decode(alloc::format!("{e}")))?;

    let checkpoint = SignedCheckpoint::verify(b.checkpoint.as_bytes(), policy.log_key)?;
    let cosignatures = checkpoint.verify_cosignatures(policy.witnesses, policy.quorum)?;
    let (size, root) = (checkpoint.checkpoint.size, checkpoint.checkpoint.root);

    if let Some(trusted) = options.trusted {
        if size < trusted.size {
            return Err(BundleError::Rollback {
                trusted: trusted.size,
                got: size,
            });
        }
        let proof = if size == trusted.size {
            Vec::new()
        } else if b.consistency_from == trusted.size {
            proof_hashes(&b.consistency_proof)?
        } else {
            return Err(BundleError::Inconsistent {
                trusted: trusted.size,
                reason: alloc::format!(
                    "the bundle carries no consistency proof from size {} (fetch it with --since {})",
                    trusted.size,
                    trusted.size
                ),
            });
        };
        merkle::verify_consistency(trusted.size, size, &trusted.root, &root, &proof).map_err(
            |e| BundleError::Inconsistent {
                trusted: trusted.size,
                reason: alloc::format!("{e}"),
            },
        )?;
    }

    // The map head: the checkpoint's last entry, so the latest status the checkpoint has.
    if size == 0 || b.map_head_index != size - 1 {
        return Err(BundleError::Malformed(
            "the map head is not the checkpoint's last entry",
        ));
    }
    check_inclusion(
        "the map head",
        &b.map_head,
        b.map_head_index,
        &b.map_head_proof,
        &checkpoint,
    )?;
    let entry_pb::Body::MapHead(map_head) = decode_entry("the map head", &b.map_head)? else {
        return Err(BundleError::Malformed(
            "the checkpoint's last entry is not a map head",
        ));
    };
    if map_head.tree_size != b.map_head_index {
        return Err(BundleError::Malformed(
            "the map head's size is not its index",
        ));
    }
    let map_root = Hash::from_slice(&map_head.root)
        .ok_or(BundleError::Malformed("the map root is not 32 bytes"))?;
    if let Some(max_age) = options.max_age {
        let age = options.now.saturating_sub(map_head.timestamp);
        if age > i64::try_from(max_age).unwrap_or(i64::MAX) {
            return Err(BundleError::Stale { age, max_age });
        }
    }

    // The question asked: everything below is proven about the expected certificate only.
    let other = |found: alloc::string::String| BundleError::OtherCertificate {
        found,
        expected: alloc::format!("{expected}"),
    };
    if b.scheme != expected.scheme || b.certificate_id != expected.certificate_id {
        return Err(other(alloc::format!(
            "{:?}/{:?}",
            b.scheme,
            b.certificate_id
        )));
    }
    let key = status_key(expected.scheme, expected.certificate_id);
    let status_proof = b
        .status_proof
        .as_ref()
        .ok_or(BundleError::Malformed("the bundle has no status proof"))?;
    if b.entry.is_empty() {
        if b.status.is_some() {
            return Err(BundleError::Malformed(
                "a status record without its certificate",
            ));
        }
        status_map::verify(&map_root, &key, None, status_proof)?;
        if let Some(digest) = options.firmware_sha256 {
            return Err(BundleError::FirmwareNotListed(hex::encode(digest)));
        }
        return Ok(Verified {
            standing: Standing::Absent,
            scheme: b.scheme,
            certificate_id: b.certificate_id,
            checkpoint,
            cosignatures,
            map_head,
            certificate: None,
            record: None,
            certifier: None,
        });
    }

    // The certificate, as its certifier signed it; its status record, proven below, holds its
    // leaf hash.
    let entry_pb::Body::SignedStatement(signed) = decode_entry("the certificate", &b.entry)? else {
        return Err(BundleError::Malformed(
            "the certificate entry is a map head",
        ));
    };
    let statement = entry::decode_statement(&signed).map_err(|error| BundleError::Entry {
        what: "the certificate",
        error,
    })?;
    let Some(statement::Body::CertificateIssued(certificate)) = statement.body else {
        return Err(BundleError::Malformed(
            "the certificate entry does not issue a certificate",
        ));
    };
    if certificate.scheme != expected.scheme
        || certificate.certificate_id != expected.certificate_id
    {
        return Err(BundleError::Malformed("the entry is another certificate"));
    }
    if let Some(name) = expected.certifier
        && signed.signer != name
    {
        return Err(other(alloc::format!(
            "{:?}/{:?} issued by {:?}",
            b.scheme,
            b.certificate_id,
            signed.signer
        )));
    }

    // The certifier's state, under the map head: its keys, schemes, and whether it was found
    // compromised.
    let certifier = b
        .certifier
        .ok_or(BundleError::Malformed("the bundle has no certifier record"))?;
    let certifier_proof = b
        .certifier_proof
        .as_ref()
        .ok_or(BundleError::Malformed("the bundle has no certifier proof"))?;
    status_map::verify(
        &map_root,
        &certifier_key(&signed.signer),
        Some(&certifier_record_hash(&certifier)),
        certifier_proof,
    )
    .map_err(BundleError::CertifierProof)?;
    if certifier.registered_index >= b.entry_index
        || !certifier.schemes.contains(&certificate.scheme)
    {
        return Err(BundleError::Malformed(
            "the certifier was not registered for the scheme before it",
        ));
    }
    let vkey = key_at(&certifier, b.entry_index).ok_or(BundleError::Malformed(
        "the certifier had no key at the entry",
    ))?;
    let signing_key: VerifierKey = vkey
        .parse()
        .map_err(|_| BundleError::Malformed("the certifier's key is not a vkey"))?;
    entry::verify_statement(&signed, &signing_key).map_err(BundleError::CertifierSignature)?;
    certificate::validate(&certificate)?;

    // The status, under the map head.
    let record = b
        .status
        .ok_or(BundleError::Malformed("the bundle has no status record"))?;
    if record.scheme != b.scheme
        || record.certificate_id != b.certificate_id
        || record.issued_index != b.entry_index
        || record.certifier != signed.signer
        || record.entry_hash[..] != leaf_hash(&b.entry).0[..]
    {
        return Err(BundleError::Malformed(
            "the status record is not the certificate's",
        ));
    }
    status_map::verify(
        &map_root,
        &key,
        Some(&status_record_hash(&record)),
        status_proof,
    )?;

    if let Some(digest) = options.firmware_sha256 {
        let listed = certificate.product.as_ref().is_some_and(|p| {
            p.firmware_digests
                .iter()
                .any(|d| d.alg == "sha256" && d.digest == digest)
        });
        if !listed {
            return Err(BundleError::FirmwareNotListed(hex::encode(digest)));
        }
    }

    let compromised = certifier
        .compromised_index
        .is_some_and(|from| b.entry_index >= from);
    let standing = match record.status() {
        _ if compromised => Standing::CertifierCompromised,
        CertificateStatus::Suspended => Standing::Suspended,
        CertificateStatus::Revoked => Standing::Revoked,
        CertificateStatus::Withdrawn => Standing::Withdrawn,
        CertificateStatus::Active if options.now >= certificate.not_after => Standing::Expired,
        CertificateStatus::Active if options.now < certificate.not_before => Standing::NotYetValid,
        CertificateStatus::Active => Standing::Active,
        CertificateStatus::Unspecified => {
            return Err(BundleError::Malformed("the status record has no status"));
        }
    };
    Ok(Verified {
        standing,
        scheme: b.scheme,
        certificate_id: b.certificate_id,
        checkpoint,
        cosignatures,
        map_head,
        certificate: Some(certificate),
        record: Some(record),
        certifier: Some(certifier),
    })
}

/// The key a certifier signed with at `index`: the current one from its `key_index`, an
/// earlier one within its range.
fn key_at(certifier: &CertifierRecord, index: u64) -> Option<&str> {
    if index >= certifier.key_index {
        return Some(&certifier.vkey);
    }
    certifier
        .earlier_keys
        .iter()
        .find(|k| k.from_index <= index && index < k.until_index)
        .map(|k| k.vkey.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bytes_are_no_bundle() {
        let key = crate::SigningKey::from_seed("log.example", crate::KeyType::Ed25519, &[1; 32])
            .unwrap()
            .verifier_key();
        let policy = Policy {
            log_key: &key,
            witnesses: &[],
            quorum: 0,
        };
        let expected = Expected::new("EUCC", "EUCC-1");
        let err = verify_bundle(&[], &policy, &expected, &Options::default()).unwrap_err();
        assert_eq!(err, BundleError::Decode("there are no bytes at all".into()));
    }
}

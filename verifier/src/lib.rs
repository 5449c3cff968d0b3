//! The trust core of certlog: every format and algorithm a device, a buyer, an auditor or the log
//! itself needs to check what the log says, each implemented once.
//!
//! | module | specification |
//! |---|---|
//! | [`merkle`] | RFC 6962 / RFC 9162 2.1: hashes, inclusion and consistency proofs |
//! | [`note`], [`key`] | C2SP signed-note: notes, Ed25519 keys, vkeys, key IDs |
//! | [`precomputed`] | RFC 8032 5.1.7: Ed25519 verification with tables of a key's multiples |
//! | [`checkpoint`] | C2SP tlog-checkpoint |
//! | [`cosignature`] | C2SP tlog-cosignature v1 (Ed25519) |
//! | [`proto`], [`entry`] | certlog.v1 messages; entries and signed statements |
//! | [`text`] | the characters of identifiers and text |
//! | [`certificate`] | certificate fields, status transitions, status-map keys |
//! | [`status_map`] | the sparse Merkle tree of certificate statuses, its proofs |
//! | [`bundle`] | proof bundles: a certificate and its status, checked offline |
//!
//! The log's own semantics (its rules, replay, evidence, the witness protocol, tiles) are in the
//! `certlog-log` crate, and the `certlog-verify` command line in its own; this crate is what a
//! device or a browser needs (docs/trust.md).
//!
//! The crate does no I/O and has no clock or source of randomness: storage comes in through
//! [`merkle::HashReader`], time and key seeds as arguments. Without its default features it
//! builds for `no_std` targets with an allocator, such as a device checking a proof at boot.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
#[macro_use]
extern crate std;

pub mod bundle;
pub mod certificate;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod key;
pub mod merkle;
pub mod note;
#[cfg(feature = "std")]
pub mod precomputed;
pub mod status_map;
pub mod text;

/// The certlog.v1 protobuf messages, generated from proto/certlog/v1 by prost ahead and
/// committed (`tests/generated_proto.rs` checks that they are what proto/ gives).
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!("proto/certlog.v1.rs");
}

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use key::{KeyType, SigningKey, VerifierKey};
pub use merkle::Hash;
pub use note::Note;

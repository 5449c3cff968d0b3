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
//! | [`witness`] | C2SP tlog-witness: add-checkpoint requests, the witness's checks, its answers |
//! | [`tiles`], [`entry_bundle`] | C2SP tlog-tiles: tile paths, hash tiles, entry bundles |
//! | [`tlog_proof`] | C2SP tlog-proof: offline inclusion proofs as text |
//! | [`proto`], [`entry`] | certlog.v1 messages; entries and signed statements |
//! | [`text`] | the characters of identifiers and text |
//! | [`certificate`], [`rules`] | certificate fields, status transitions, the log's rules |
//! | [`status_map`] | the sparse Merkle tree of certificate statuses, its proofs |
//! | [`bundle`] | proof bundles: a certificate and its status, checked offline |
//! | [`replay`] | replaying a log: its rules and status map, as an auditor does |
//! | [`evidence`] | evidence that a log misbehaved, checked offline |
//!
//! The crate does no I/O and has no clock or source of randomness: storage comes in through
//! [`merkle::HashReader`] or [`tiles::TileReader`], time and key seeds as arguments. Without its
//! default features it builds for `no_std` targets with an allocator, such as a device checking
//! a proof at boot.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
#[macro_use]
extern crate std;

pub mod bundle;
pub mod certificate;
pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cosignature;
pub mod entry;
pub mod entry_bundle;
pub mod evidence;
pub mod key;
#[cfg(feature = "std")]
pub mod key_file;
pub mod merkle;
pub mod note;
#[cfg(feature = "std")]
pub mod precomputed;
pub mod replay;
pub mod rules;
pub mod status_map;
#[cfg(test)]
mod testing;
pub mod text;
pub mod tiles;
pub mod tlog_proof;
pub mod witness;

/// The certlog.v1 protobuf messages, generated from proto/certlog/v1 by prost.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/certlog.v1.rs"));
}

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use key::{KeyType, SigningKey, VerifierKey};
pub use merkle::Hash;
pub use note::Note;
pub use tiles::TileId;

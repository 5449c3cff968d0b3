//! The log's semantics, which the log server, its auditors and its witnesses share; what a
//! device or a browser needs to check an answer is the smaller `certlog-verifier`, which this
//! crate builds on (docs/trust.md).
//!
//! | module | specification |
//! |---|---|
//! | [`rules`] | the log's rules: which statement may be appended, and what it changes |
//! | [`replay`] | replaying a log: its rules and status map, as an auditor does |
//! | [`evidence`] | evidence that a log misbehaved, checked offline |
//! | [`witness`] | C2SP tlog-witness: add-checkpoint requests, the witness's checks, its answers |
//! | [`tiles`], [`entry_bundle`] | C2SP tlog-tiles: tile paths, hash tiles, entry bundles |
//! | [`tlog_proof`] | C2SP tlog-proof: offline inclusion proofs as text |
//! | [`key_file`] | key files: C2SP private keys and vkeys on disk |
//!
//! The algorithms do no I/O and have no clock: storage comes in through
//! [`certlog_verifier::merkle::HashReader`] or [`tiles::TileReader`], time as arguments; only
//! [`key_file`] reads and writes files.

#![warn(missing_docs)]

extern crate alloc;

pub mod entry_bundle;
pub mod evidence;
pub mod key_file;
pub mod replay;
pub mod rules;
#[cfg(test)]
mod testing;
pub mod tiles;
pub mod tlog_proof;
pub mod witness;

pub use tiles::TileId;

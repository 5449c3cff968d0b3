//! Replaying a log (DESIGN "Status map"): applying the log's rules to every entry in order and
//! recomputing the status map, so that each map head can be compared with the map the entries
//! alone give. This is what an auditor does; the log itself must agree with it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::certificate::status_record_hash;
use crate::entry;
use crate::key::VerifierKey;
use crate::merkle::Hash;
use crate::proto::entry::Body;
use crate::rules::{self, Change, MemoryState, RuleError};
use crate::status_map::{MapUpdate, MemoryMap};

/// Why a replay stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An entry the log's rules refuse.
    #[error("entry {index} breaks the log's rules: {error}")]
    Rule {
        /// The entry.
        index: u64,
        /// Why.
        error: RuleError<core::convert::Infallible>,
    },
    /// A map head whose root is not the map of the entries before it.
    #[error("map head at {index} has root {claimed}, the entries before it give {computed}")]
    MapRoot {
        /// The map head.
        index: u64,
        /// Its root.
        claimed: Hash,
        /// The replayed root.
        computed: Hash,
    },
    /// A malformed map head.
    #[error("map head at {index}: {reason}")]
    MapHead {
        /// The map head.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// The state of a replay: the registry, the statuses, the map, and how far it went.
#[derive(Clone, Debug)]
pub struct Replay {
    operator: VerifierKey,
    /// The registry and the status records.
    pub state: MemoryState,
    /// The status map as of the last map head.
    pub map: MemoryMap,
    /// Status changes since the last map head: key and value.
    pending: Vec<(Hash, Hash)>,
    /// Entries replayed.
    pub size: u64,
    /// Map heads checked.
    pub map_heads: u64,
}

impl Replay {
    /// A replay from the empty log, with the operator key that signs the registry.
    pub fn new(operator: VerifierKey) -> Replay {
        Replay {
            operator,
            state: MemoryState::default(),
            map: MemoryMap::default(),
            pending: Vec::new(),
            size: 0,
            map_heads: 0,
        }
    }

    /// Replays the next entry.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let index = self.size;
        let rule = |error| ReplayError::Rule { index, error };
        let decoded = entry::decode_entry(bytes).map_err(|e| rule(RuleError::Entry(e)))?;
        if let Some(Body::MapHead(head)) = &decoded.body {
            let mut update = MapUpdate::new(&self.map);
            for (key, value) in self.pending.drain(..) {
                update.set(key, value);
            }
            let Ok((computed, changes)) = update.finish();
            self.map.apply(changes);
            let claimed = Hash::from_slice(&head.root).ok_or_else(|| ReplayError::MapHead {
                index,
                reason: "the root is not 32 bytes".into(),
            })?;
            if head.tree_size != index {
                return Err(ReplayError::MapHead {
                    index,
                    reason: alloc::format!("it claims to cover {} entries", head.tree_size),
                });
            }
            if claimed != computed {
                return Err(ReplayError::MapRoot {
                    index,
                    claimed,
                    computed,
                });
            }
            self.map_heads += 1;
        } else {
            match rules::check_entry(bytes, index, &self.operator, &self.state).map_err(rule)? {
                Change::Status { key, record } => {
                    self.pending.push((key, status_record_hash(&record)));
                    self.state.statuses.insert(key, record);
                }
                change => self.state.record(change),
            }
        }
        self.size += 1;
        Ok(())
    }
}

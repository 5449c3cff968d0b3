//! Replaying a log (DESIGN "Status map"): applying the log's rules to every entry in order and
//! recomputing the status map, so that each map head can be compared with the map the entries
//! alone give. This is what an auditor does; the log itself must agree with it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::rules::{self, Change, KeyCache, MemoryState, RuleError};
use certlog_verifier::certificate::{certifier_key, certifier_record_hash, status_record_hash};
use certlog_verifier::entry;
use certlog_verifier::key::VerifierKey;
use certlog_verifier::merkle::{Hash, leaf_hash};
use certlog_verifier::proto::entry::Body;
use certlog_verifier::proto::{CertificateStatus, MapHead};
use certlog_verifier::status_map::{self, MapUpdate, MemoryMap};

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

impl ReplayError {
    /// The index of the entry the replay stopped at.
    pub fn index(&self) -> u64 {
        match self {
            ReplayError::Rule { index, .. }
            | ReplayError::MapRoot { index, .. }
            | ReplayError::MapHead { index, .. } => *index,
        }
    }
}

/// What an entry did, as the replay applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A certificate was issued.
    CertificateIssued,
    /// A certificate's status changed, to this one.
    StatusChanged(CertificateStatus),
    /// A certifier was registered.
    CertifierRegistered,
    /// A certifier was retired.
    CertifierRetired,
    /// A certifier was given a new key.
    CertifierKeyRotated,
    /// A map head, whose root matched the replayed map.
    MapHead,
}

/// What a replay needs to go on later without the entries before: the state, and the status
/// changes the map has not taken in yet (see [`Replay::parts`], [`Replay::from_parts`]).
#[derive(Clone, Debug, Default)]
pub struct ReplayParts {
    /// The registry and the current status records.
    pub state: MemoryState,
    /// The keys whose status changed since the last map head, with their value in the map at
    /// that map head (`None`: absent from it).
    pub pending: Vec<(Hash, Option<Hash>)>,
    /// Entries replayed.
    pub size: u64,
    /// Map heads checked.
    pub map_heads: u64,
}

/// Why replay parts do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status key {0} changed since the last map head but has no status record")]
pub struct PartsError(pub Hash);

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
    /// Certifier keys parsed so far.
    keys: KeyCache,
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
            keys: KeyCache::default(),
        }
    }

    /// A replay that goes on from saved parts. The status map is rebuilt from the status
    /// records as of the last map head (its root is [`Replay::map_root`], for the caller to
    /// compare with a saved one).
    pub fn from_parts(operator: VerifierKey, parts: ReplayParts) -> Result<Replay, PartsError> {
        let ReplayParts {
            state,
            pending,
            size,
            map_heads,
        } = parts;
        let before: BTreeMap<Hash, Option<Hash>> = pending.into_iter().collect();
        let values = map_values(&state);
        let empty = MemoryMap::default();
        let mut update = MapUpdate::new(&empty);
        for (key, value) in &values {
            match before.get(key) {
                None => update.set(*key, *value),
                Some(Some(value)) => update.set(*key, *value),
                Some(None) => {}
            }
        }
        let Ok((_, changes)) = update.finish();
        let mut map = MemoryMap::default();
        map.apply(changes);
        let pending = before
            .keys()
            .map(|key| Ok((*key, *values.get(key).ok_or(PartsError(*key))?)))
            .collect::<Result<Vec<_>, PartsError>>()?;
        Ok(Replay {
            operator,
            state,
            map,
            pending,
            size,
            map_heads,
            keys: KeyCache::default(),
        })
    }

    /// The parts to save: a copy of the state, and the map values of the keys changed since
    /// the last map head.
    pub fn parts(&self) -> ReplayParts {
        ReplayParts {
            state: self.state.clone(),
            pending: self.pending_map_values(),
            size: self.size,
            map_heads: self.map_heads,
        }
    }

    /// The keys whose status changed since the last map head, each once, with their value in
    /// the map at that map head (`None`: absent).
    pub fn pending_map_values(&self) -> Vec<(Hash, Option<Hash>)> {
        let keys: BTreeSet<Hash> = self.pending.iter().map(|(key, _)| *key).collect();
        keys.into_iter()
            .map(|key| {
                let Ok(lookup) = status_map::prove(&self.map, &key);
                (key, lookup.value)
            })
            .collect()
    }

    /// The operator key the registry is checked with.
    pub fn operator(&self) -> &VerifierKey {
        &self.operator
    }

    /// The root of the status map as of the last map head.
    pub fn map_root(&self) -> Hash {
        self.map.root()
    }

    /// Replays the next entry: what it did, or why the log should not hold it.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<Applied, ReplayError> {
        self.apply_checked(bytes, &leaf_hash(bytes), None)
    }

    /// [`Replay::apply`], for an entry whose RFC 6962 leaf hash `leaf` the caller has computed
    /// (an auditor hashes every entry into the tree) and whose statement signature it has
    /// already verified with `verified_with` (for example on another core): when that is the
    /// key the rules require, the signature is not verified again. Every other rule is checked.
    pub fn apply_checked(
        &mut self,
        bytes: &[u8],
        leaf: &Hash,
        verified_with: Option<&VerifierKey>,
    ) -> Result<Applied, ReplayError> {
        let index = self.size;
        let rule = |error| ReplayError::Rule { index, error };
        let decoded = entry::decode_entry(bytes).map_err(|e| rule(RuleError::Entry(e)))?;
        // The steps of rules::check_entry, with the certifier keys parsed once.
        let applied = match entry::signed_statement(&decoded) {
            None => {
                let Some(Body::MapHead(head)) = &decoded.body else {
                    return Err(rule(RuleError::Entry(entry::EntryError::Empty("body"))));
                };
                self.check_map_head(index, head)?;
                Applied::MapHead
            }
            Some(signed) => {
                let statement =
                    entry::decode_statement(signed).map_err(|e| rule(RuleError::Entry(e)))?;
                let key = rules::signing_key_cached(
                    signed,
                    &statement,
                    &self.operator,
                    &self.state,
                    &mut self.keys,
                )
                .map_err(rule)?;
                if verified_with != Some(&key) {
                    entry::verify_statement(signed, &key).map_err(|e| rule(RuleError::Entry(e)))?;
                }
                let change =
                    rules::apply(signed, &statement, index, leaf, &self.state).map_err(rule)?;
                self.record(change, index)
            }
        };
        self.size += 1;
        Ok(applied)
    }

    /// Records a change in the state; what it did.
    fn record(&mut self, change: Change, index: u64) -> Applied {
        let applied = match &change {
            Change::Status { record, .. } if record.last_change_index == record.issued_index => {
                Applied::CertificateIssued
            }
            Change::Status { record, .. } => Applied::StatusChanged(record.status()),
            Change::Certifier { record, .. } if record.retired_index == Some(index) => {
                Applied::CertifierRetired
            }
            Change::Certifier { record, .. } if record.registered_index == index => {
                Applied::CertifierRegistered
            }
            Change::Certifier { .. } => Applied::CertifierKeyRotated,
            Change::MapHead => Applied::MapHead,
        };
        match &change {
            Change::Status { key, record } => {
                self.pending.push((*key, status_record_hash(record)));
            }
            Change::Certifier {
                name,
                record,
                restored,
            } => {
                self.pending
                    .push((certifier_key(name), certifier_record_hash(record)));
                self.pending.extend(
                    restored
                        .iter()
                        .map(|(key, record)| (*key, status_record_hash(record))),
                );
            }
            Change::MapHead => {}
        }
        self.state.record(change);
        applied
    }

    /// Takes the pending changes into the map and compares its root with the map head's.
    fn check_map_head(&mut self, index: u64, head: &MapHead) -> Result<(), ReplayError> {
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
        // The log's time never goes back: a compromise time maps to one batch.
        if let Some((before, _)) = self.state.map_heads.last()
            && head.timestamp < *before
        {
            return Err(ReplayError::MapHead {
                index,
                reason: alloc::format!(
                    "its time {} is before the previous map head's {before}",
                    head.timestamp
                ),
            });
        }
        if claimed != computed {
            return Err(ReplayError::MapRoot {
                index,
                claimed,
                computed,
            });
        }
        self.state.record_map_head(index, head.timestamp);
        self.map_heads += 1;
        Ok(())
    }
}

/// The value of every key of the status map: the certificates' status records and the
/// certifiers' records.
fn map_values(state: &MemoryState) -> BTreeMap<Hash, Hash> {
    let statuses = state
        .statuses
        .iter()
        .map(|(key, record)| (*key, status_record_hash(record)));
    let certifiers = state
        .certifiers
        .iter()
        .map(|(name, record)| (certifier_key(name), certifier_record_hash(record)));
    statuses.chain(certifiers).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{change, issue};
    use alloc::string::ToString;
    use alloc::vec;
    use certlog_verifier::entry::{encode_entry, sign_statement};
    use certlog_verifier::key::{KeyType, SigningKey};
    use certlog_verifier::proto::{CertifierRegistered, CertifierRetired, Entry, statement};
    use prost::Message as _;

    fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap()
    }

    /// A log of batches, each ended by a correct map head, as the sequencer writes it; with
    /// what each entry did.
    fn sample_log() -> (VerifierKey, Vec<Vec<u8>>, Vec<Applied>) {
        use CertificateStatus::*;
        let op = key("op.example", 1);
        let cb = key("cb.example", 2);
        let other = key("other.example", 3);
        let register = |k: &SigningKey| {
            statement::Body::CertifierRegistered(CertifierRegistered {
                vkey: k.verifier_key().to_string(),
                schemes: vec!["EUCC".into()],
                registered_at: 1,
            })
        };
        let retire = statement::Body::CertifierRetired(CertifierRetired {
            name: "other.example".into(),
            reason: "r".into(),
            retired_at: 2,
            compromised_since: 0,
        });
        // (signer, statement) per batch; indexes count the map heads.
        let batches: Vec<Vec<(&SigningKey, statement::Body)>> = vec![
            vec![(&op, register(&cb)), (&op, register(&other))],
            vec![(&cb, issue("A")), (&cb, issue("B"))],
            // A issued at 3, B at 4; the map head at 5.
            vec![(&cb, change("A", 3, 3, Suspended)), (&cb, issue("C"))],
            // A suspended at 6, C at 7, head at 8; A changes twice in one batch.
            vec![
                (&cb, change("A", 3, 6, Active)),
                (&cb, change("A", 3, 9, Revoked)),
                (&cb, change("B", 4, 4, Withdrawn)),
                (&op, retire),
            ],
        ];
        let mut shadow = Replay::new(op.verifier_key());
        let (mut entries, mut applied) = (Vec::new(), Vec::new());
        for batch in batches {
            for (signer, body) in batch {
                let bytes = encode_entry(sign_statement(signer, body).unwrap());
                applied.push(shadow.apply(&bytes).unwrap());
                entries.push(bytes);
            }
            let mut update = MapUpdate::new(&shadow.map);
            for (k, v) in &shadow.pending {
                update.set(*k, *v);
            }
            let Ok((root, _)) = update.finish();
            let head = Entry {
                body: Some(Body::MapHead(MapHead {
                    root: root.0.to_vec(),
                    tree_size: shadow.size,
                    timestamp: 5,
                })),
            }
            .encode_to_vec();
            applied.push(shadow.apply(&head).unwrap());
            entries.push(head);
        }
        (op.verifier_key(), entries, applied)
    }

    #[test]
    fn applied_says_what_each_entry_did() {
        use Applied::*;
        use CertificateStatus::*;
        let (_, entries, applied) = sample_log();
        assert_eq!(entries.len(), 14);
        assert_eq!(
            applied,
            [
                CertifierRegistered,
                CertifierRegistered,
                MapHead,
                CertificateIssued,
                CertificateIssued,
                MapHead,
                StatusChanged(Suspended),
                CertificateIssued,
                MapHead,
                StatusChanged(Active),
                StatusChanged(Revoked),
                StatusChanged(Withdrawn),
                CertifierRetired,
                MapHead,
            ]
        );
    }

    #[test]
    fn a_replay_saved_anywhere_goes_on_to_the_same_end() {
        let (operator, entries, _) = sample_log();
        let mut whole = Replay::new(operator.clone());
        for e in &entries {
            whole.apply(e).unwrap();
        }
        for split in 0..=entries.len() {
            let mut first = Replay::new(operator.clone());
            for e in &entries[..split] {
                first.apply(e).unwrap();
            }
            let saved_root = first.map_root();
            let resumed = Replay::from_parts(operator.clone(), first.parts()).unwrap();
            assert_eq!(resumed.map_root(), saved_root, "split {split}");
            let mut resumed = resumed;
            for e in &entries[split..] {
                resumed.apply(e).unwrap();
            }
            assert_eq!(resumed.size, whole.size);
            assert_eq!(resumed.map_heads, whole.map_heads);
            assert_eq!(resumed.map_root(), whole.map_root());
            assert_eq!(resumed.state.statuses, whole.state.statuses);
            assert_eq!(resumed.state.certifiers, whole.state.certifiers);
        }
    }

    #[test]
    fn a_wrong_map_head_stops_the_replay() {
        let (operator, mut entries, _) = sample_log();
        let mut head = certlog_verifier::entry::decode_entry(&entries[8]).unwrap();
        if let Some(Body::MapHead(h)) = &mut head.body {
            h.root[0] ^= 1;
        }
        entries[8] = head.encode_to_vec();
        let mut replay = Replay::new(operator);
        let error = entries.iter().find_map(|e| replay.apply(e).err());
        assert!(
            matches!(error, Some(ReplayError::MapRoot { index: 8, .. })),
            "{error:?}"
        );
    }

    #[test]
    fn a_map_head_earlier_than_the_one_before_stops_the_replay() {
        let (operator, mut entries, _) = sample_log();
        // The sample's map heads are all of time 5: one of time 4 goes back.
        let mut head = certlog_verifier::entry::decode_entry(&entries[8]).unwrap();
        if let Some(Body::MapHead(h)) = &mut head.body {
            h.timestamp = 4;
        }
        entries[8] = head.encode_to_vec();
        let mut replay = Replay::new(operator);
        let error = entries.iter().find_map(|e| replay.apply(e).err());
        assert!(
            matches!(&error, Some(ReplayError::MapHead { index: 8, reason }) if reason.contains("before the previous map head")),
            "{error:?}"
        );
    }

    #[test]
    fn a_signature_checked_ahead_is_trusted_only_for_the_required_key() {
        let (operator, entries, _) = sample_log();
        let cb = key("cb.example", 2);
        // Entry 3 issues A, signed by cb; its signature is broken.
        let mut entry = certlog_verifier::entry::decode_entry(&entries[3]).unwrap();
        if let Some(Body::SignedStatement(signed)) = &mut entry.body {
            signed.signature[0] ^= 1;
        }
        let forged = entry.encode_to_vec();
        let mut replay = Replay::new(operator.clone());
        for e in &entries[..3] {
            replay.apply(e).unwrap();
        }
        let other = key("other.example", 3).verifier_key();
        for claimed in [None, Some(&other)] {
            let error = replay
                .clone()
                .apply_checked(&forged, &leaf_hash(&forged), claimed)
                .unwrap_err();
            assert!(
                matches!(
                    &error,
                    ReplayError::Rule {
                        index: 3,
                        error: RuleError::Entry(_)
                    }
                ),
                "{error:?}"
            );
        }
        // The caller vouches for the signature with the required key: not checked again.
        let required = cb.verifier_key();
        assert_eq!(
            replay
                .clone()
                .apply_checked(&forged, &leaf_hash(&forged), Some(&required)),
            Ok(Applied::CertificateIssued)
        );
        // Every other rule still applies: a status change of a certificate never issued.
        let leaf = leaf_hash(&entries[6]);
        assert!(
            replay
                .apply_checked(&entries[6], &leaf, Some(&required))
                .is_err()
        );
    }

    #[test]
    fn parts_that_do_not_fit_are_refused() {
        let (operator, entries, _) = sample_log();
        let mut replay = Replay::new(operator.clone());
        for e in &entries[..7] {
            replay.apply(e).unwrap();
        }
        let mut parts = replay.parts();
        assert_eq!(parts.pending.len(), 1);
        let key = parts.pending[0].0;
        parts.state.statuses.remove(&key);
        assert_eq!(
            Replay::from_parts(operator, parts).err(),
            Some(PartsError(key))
        );
    }
}

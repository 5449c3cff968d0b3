//! An in-memory backend, for tests: the reference the sled backend is checked against.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard};

use certlog_verifier::Hash;
use certlog_verifier::proto::{CertifierRecord, StatusRecord};

use certlog_verifier::certificate::certifier_key;
use prost::Message as _;

use super::{Batch, MapCell, Result, StatusEncodings, Storage, StorageError, is_certifier_change};

#[derive(Default)]
struct State {
    size: u64,
    entries: BTreeMap<u64, Vec<u8>>,
    leaves: BTreeMap<Hash, u64>,
    tiles: BTreeMap<(u8, u64), Vec<u8>>,
    certifiers: BTreeMap<String, CertifierRecord>,
    /// The status map's records, encoded: certificates' and certifiers'.
    map_records: BTreeMap<Hash, Vec<u8>>,
    status_changes: BTreeMap<(Hash, u64), ()>,
    certifier_changes: BTreeMap<(String, u64), Hash>,
    batch_times: BTreeMap<(i64, u64), ()>,
    checkpoints: BTreeMap<u64, String>,
    map_cells: BTreeMap<u32, MapCell>,
    firmware: BTreeMap<([u8; 32], u64), Hash>,
}

/// A log kept in memory: lost when dropped.
#[derive(Default)]
pub struct MemoryStorage(Mutex<State>);

impl MemoryStorage {
    fn state(&self) -> Result<MutexGuard<'_, State>> {
        self.0
            .lock()
            .map_err(|_| StorageError::Backend("memory storage lock poisoned".into()))
    }
}

impl Storage for MemoryStorage {
    fn size(&self) -> Result<u64> {
        Ok(self.state()?.size)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.state()?.entries.get(&index).cloned())
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self
            .state()?
            .entries
            .range(start..end)
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>> {
        Ok(self.state()?.leaves.get(leaf_hash).copied())
    }

    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.state()?.tiles.get(&(level, index)).cloned())
    }

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>> {
        Ok(self.state()?.certifiers.get(name).cloned())
    }

    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>> {
        self.state()?
            .map_records
            .get(key)
            .map(|bytes| {
                StatusRecord::decode(&bytes[..])
                    .map_err(|e| StorageError::Corrupt(format!("status record: {e}")))
            })
            .transpose()
    }

    fn status_encodings(&self, first: &Hash, last: &Hash, limit: usize) -> Result<StatusEncodings> {
        if first > last {
            return Ok(Vec::new());
        }
        Ok(self
            .state()?
            .map_records
            .range(*first..=*last)
            .take(limit)
            .map(|(k, r)| (*k, r.clone()))
            .collect())
    }

    fn batch_start_at(&self, time: i64) -> Result<Option<u64>> {
        Ok(self
            .state()?
            .batch_times
            .range((time, 0)..)
            .next()
            .map(|((_, start), _)| *start))
    }

    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>> {
        let s = self.state()?;
        let changes = s
            .certifier_changes
            .range((certifier.to_string(), from)..=(certifier.to_string(), u64::MAX));
        let keys: std::collections::BTreeSet<Hash> = changes.map(|(_, key)| *key).collect();
        Ok(keys.into_iter().collect())
    }

    fn status_changes(&self, key: &Hash) -> Result<Vec<u64>> {
        let s = self.state()?;
        let changes = s.status_changes.range((*key, 0)..=(*key, u64::MAX));
        Ok(changes.map(|((_, i), _)| *i).collect())
    }

    fn checkpoint(&self, size: u64) -> Result<Option<String>> {
        Ok(self.state()?.checkpoints.get(&size).cloned())
    }

    fn firmware(&self, sha256: &[u8; 32]) -> Result<Option<Hash>> {
        Ok(self
            .state()?
            .firmware
            .range((*sha256, 0)..=(*sha256, u64::MAX))
            .next()
            .map(|(_, key)| *key))
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let mut s = self.state()?;
        for (index, bytes, hash) in &batch.entries {
            s.entries.insert(*index, bytes.clone());
            s.leaves.insert(*hash, *index);
        }
        for (level, index, hashes) in &batch.tiles {
            s.tiles.insert((*level, *index), hashes.clone());
        }
        for (name, record) in &batch.certifiers {
            s.certifiers.insert(name.clone(), record.clone());
            s.map_records
                .insert(certifier_key(name), record.encode_to_vec());
        }
        for (key, record, index) in &batch.statuses {
            s.map_records.insert(*key, record.encode_to_vec());
            if *index != record.issued_index {
                s.status_changes.insert((*key, *index), ());
            }
            if is_certifier_change(record, *index) {
                s.certifier_changes
                    .insert((record.certifier.clone(), *index), *key);
            }
        }
        s.map_cells.extend(batch.map_cells.iter().copied());
        for (digest, index, key) in &batch.firmware {
            s.firmware.insert((*digest, *index), *key);
        }
        if let Some((start, time)) = batch.map_head {
            s.batch_times.insert((time, start), ());
        }
        s.checkpoints.insert(batch.size, batch.checkpoint.clone());
        s.size = batch.size;
        Ok(())
    }

    fn map_cells(&self, positions: Range<u32>) -> Result<Vec<(u32, MapCell)>> {
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .state()?
            .map_cells
            .range(positions)
            .map(|(i, c)| (*i, *c))
            .collect())
    }

    fn put_map_cells(&self, cells: &[(u32, MapCell)]) -> Result<()> {
        self.state()?.map_cells.extend(cells.iter().copied());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes_the_storage_suite() {
        super::super::tests::suite(&super::MemoryStorage::default());
    }
}

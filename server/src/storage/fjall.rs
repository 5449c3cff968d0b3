//! The fjall backend (the default): the key layout of [`super::kv`] in one keyspace of a fjall
//! database, an LSM tree. A batch is one fjall write batch, atomic, appended to the journal and
//! synced (`fdatasync`) before `commit` returns; random keys (leaf hashes, status keys) cost a
//! journal append rather than the rewrite of a B-tree page each. Its memory is its block cache
//! and its memtables, both bounded.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::kv::{OrderedKv, Pairs};
use super::{Result, StorageError};

/// fjall's block cache.
const CACHE_BYTES: u64 = 64 << 20;

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// A fjall database.
pub struct Fjall {
    db: Database,
    log: Keyspace,
}

impl Fjall {
    /// Opens (or creates) the database in the directory `path`.
    pub fn open(path: &Path) -> Result<Fjall> {
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            .manual_journal_persist(true)
            .open()
            .map_err(backend)?;
        let log = db
            .keyspace("log", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        Ok(Fjall { db, log })
    }
}

impl OrderedKv for Fjall {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.log.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn scan(&self, from: &[u8], to: Option<&[u8]>, limit: usize) -> Result<Pairs> {
        let iter = match to {
            Some(to) => self.log.range(from..to),
            None => self.log.range(from..),
        };
        iter.take(limit)
            .map(|item| {
                let (k, v) = item.into_inner().map_err(backend)?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    fn write(&self, pairs: Pairs) -> Result<()> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        for (k, v) in pairs {
            batch.insert(&self.log, k, v);
        }
        batch.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Batch, KvStorage, Storage};
    use certlog_verifier::Hash;

    #[test]
    fn passes_the_storage_suite() {
        let dir = tempfile::tempdir().unwrap();
        super::super::tests::suite(&KvStorage(Fjall::open(dir.path()).unwrap()));
    }

    #[test]
    fn a_commit_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = KvStorage(Fjall::open(dir.path()).unwrap());
            let batch = Batch {
                size: 1,
                entries: vec![(0, b"x".to_vec(), Hash([1; 32]))],
                checkpoint: "c\n".into(),
                ..Batch::default()
            };
            store.commit(&batch).unwrap();
        }
        let store = KvStorage(Fjall::open(dir.path()).unwrap());
        assert_eq!(store.size().unwrap(), 1);
        assert_eq!(store.entry(0).unwrap(), Some(b"x".to_vec()));
    }
}

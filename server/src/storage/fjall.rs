//! The fjall backend (the default): the key layout of [`super::kv`] in a fjall database, an
//! LSM tree, with one keyspace (its own tree) per kind of record, the first byte of the key:
//! the entries, large and written in order, do not slow the reads of the small random records
//! (status records, leaf hashes). A batch is one fjall write batch, atomic across keyspaces,
//! appended to the journal and synced (`fdatasync`) before `commit` returns; random keys cost
//! a journal append rather than the rewrite of a B-tree page each. Its memory is its block
//! cache and its memtables, both bounded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fjall::config::{CompressionPolicy, FilterPolicy};
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::kv::{self, OrderedKv, Pairs, Visit};
use super::{Result, StorageError};

/// fjall's block cache. (Hot tiles and entry bundles have caches of their own, see
/// `crate::reader`.)
const CACHE_BYTES: u64 = 32 << 20;

/// The largest memtable (fjall's default is 64 MiB): written to disk once this full.
const MEMTABLE_BYTES: u64 = 16 << 20;

/// The most journal kept (fjall's default is 512 MiB, its least 64 MiB): memtables are
/// written to disk before the journal grows beyond. A start after a crash replays the journal
/// into memory (after a clean stop, see [`OrderedKv::flush`], it only reads it), so this bounds
/// the time a start takes (several seconds at 512 MiB).
const JOURNAL_BYTES: u64 = 64 << 20;

/// The longest [`OrderedKv::flush`] waits for fjall's workers to write the memtables (they
/// stop at an I/O error, leaving them unwritten).
const FLUSH_WAIT: Duration = Duration::from_secs(30);

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// A fjall database.
pub struct Fjall {
    db: Database,
    /// The keyspaces opened so far, by the first byte of their keys.
    keyspaces: Mutex<HashMap<u8, Keyspace>>,
}

impl Fjall {
    /// Opens (or creates) the database in the directory `path`.
    pub fn open(path: &Path) -> Result<Fjall> {
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            .max_journaling_size(JOURNAL_BYTES)
            .manual_journal_persist(true)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => StorageError::Backend(format!(
                    "{} is locked: another process has the database open",
                    path.display()
                )),
                e => backend(e),
            })?;
        Ok(Fjall {
            db,
            keyspaces: Mutex::default(),
        })
    }

    /// The keyspace of the keys that start with `kind` (created when first written).
    fn keyspace(&self, kind: u8) -> Result<Keyspace> {
        let mut keyspaces = self
            .keyspaces
            .lock()
            .map_err(|_| StorageError::Backend("fjall keyspaces lock poisoned".into()))?;
        if let Some(keyspace) = keyspaces.get(&kind) {
            return Ok(keyspace.clone());
        }
        let options = || {
            let mut options = KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
            if kind == kv::ENTRY {
                // Entries come in key order, so their tables move down the levels as written,
                // never rewritten: compressed from the start, or never (fjall compresses
                // from level 2 on).
                options = options
                    .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4));
            }
            if kv::READ_BY_RANGE_OR_KNOWN_KEY.contains(&kind) {
                // A Bloom filter (about 10 bits a key) would never spare these a read.
                options.filter_policy(FilterPolicy::disabled())
            } else {
                options
            }
        };
        let keyspace = self
            .db
            .keyspace(&format!("kind-{kind:02x}"), options)
            .map_err(backend)?;
        keyspaces.insert(kind, keyspace.clone());
        Ok(keyspace)
    }

    /// The keyspace of `key`.
    fn keyspace_of(&self, key: &[u8]) -> Result<Keyspace> {
        let kind = key
            .first()
            .ok_or_else(|| StorageError::Backend("an empty key".into()))?;
        self.keyspace(*kind)
    }
}

impl OrderedKv for Fjall {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let keyspace = self.keyspace_of(key)?;
        Ok(keyspace.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn scan_each(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
        each: &mut Visit<'_>,
    ) -> Result<()> {
        let keyspace = self.keyspace_of(from)?;
        // A scan stays within the kind of `from` (see `OrderedKv::scan_each`).
        let iter = match to {
            Some(to) if to.first() == from.first() => keyspace.range(from..to),
            _ => keyspace.range(from..),
        };
        for item in iter.take(limit) {
            let (k, v) = item.into_inner().map_err(backend)?;
            each(&k, &v)?;
        }
        Ok(())
    }

    fn write(&self, pairs: Pairs) -> Result<()> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        for (k, v) in pairs {
            batch.insert(&self.keyspace_of(&k)?, k, v);
        }
        batch.commit().map_err(backend)
    }

    /// Writes every keyspace's memtable to a table, and waits (at most [`FLUSH_WAIT`]) until
    /// they are written: the next open then skips what the journal holds of them (fjall 3.1's
    /// recovery skips items at or below a keyspace's highest sequence number in tables) rather
    /// than replaying it into memtables. fjall 3.1 does not do this when closed and has no
    /// public call for it: `rotate_memtable` is what its workers do with a full memtable, and
    /// `sealed_memtable_count` what its own `rotate_memtable_and_wait` (a test helper, which
    /// waits without a bound) waits on. Both are `doc(hidden)`: the workspace pins fjall 3.1.
    fn flush(&self) -> Result<()> {
        let keyspaces = self
            .db
            .list_keyspace_names()
            .iter()
            // Keyspaces that exist: the options, for a new one, are never used.
            .map(|name| self.db.keyspace(name, KeyspaceCreateOptions::default))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(backend)?;
        for keyspace in &keyspaces {
            keyspace.rotate_memtable().map_err(backend)?;
        }
        let deadline = Instant::now() + FLUSH_WAIT;
        while keyspaces.iter().any(|k| k.sealed_memtable_count() > 0) {
            if Instant::now() > deadline {
                return Err(StorageError::Backend(format!(
                    "memtables not written to tables within {FLUSH_WAIT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_writes_every_memtable_to_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let fjall = Fjall::open(dir.path()).unwrap();
        // Two kinds of record, so two keyspaces (`kv::ENTRY` and another).
        let (entry, other) = (vec![kv::ENTRY, 1], vec![kv::ENTRY + 1, 2]);
        fjall
            .write(vec![
                (entry.clone(), b"one".to_vec()),
                (other, b"two".to_vec()),
            ])
            .unwrap();
        let tables = || {
            [kv::ENTRY, kv::ENTRY + 1].map(|kind| {
                let keyspace = fjall.keyspace(kind).unwrap();
                (keyspace.table_count(), keyspace.sealed_memtable_count())
            })
        };
        assert_eq!(tables(), [(0, 0), (0, 0)]);
        fjall.flush().unwrap();
        assert_eq!(tables(), [(1, 0), (1, 0)]);
        // Nothing new: nothing written.
        fjall.flush().unwrap();
        assert_eq!(tables(), [(1, 0), (1, 0)]);
        assert_eq!(fjall.get(&entry).unwrap(), Some(b"one".to_vec()));
    }
}

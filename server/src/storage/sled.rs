//! The sled backend: the key layout of [`super::kv`] in one sled tree, so that a batch is one
//! atomic `apply_batch`, made durable by one `flush`.
//!
//! sled 0.34 keeps bookkeeping in memory for every page it ever wrote (about 240 bytes per log
//! entry with this layout, whatever its cache size): its memory grows with the log, which is
//! why redb is the default backend.

use std::path::Path;

use super::kv::{OrderedKv, Pairs, Visit};
use super::{Result, StorageError};

/// sled's page cache.
const CACHE_BYTES: u64 = 64 << 20;

fn backend(e: sled::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// A sled database.
pub struct Sled(sled::Db);

impl Sled {
    /// Opens (or creates) the database in the folder `dir`.
    pub fn open(dir: &Path) -> Result<Sled> {
        sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map(Sled)
            .map_err(backend)
    }
}

impl OrderedKv for Sled {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn scan_each(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
        each: &mut Visit<'_>,
    ) -> Result<()> {
        let range = match to {
            Some(to) => self.0.range(from..to),
            None => self.0.range(from..),
        };
        for item in range.take(limit) {
            let (k, v) = item.map_err(backend)?;
            each(&k, &v)?;
        }
        Ok(())
    }

    fn write(&self, pairs: Pairs) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in pairs {
            batch.insert(k, v);
        }
        self.0.apply_batch(batch).map_err(backend)?;
        self.0.flush().map_err(backend)?;
        Ok(())
    }
}

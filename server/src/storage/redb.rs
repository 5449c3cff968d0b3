//! The redb backend (the default): the key layout of [`super::kv`] in one redb table, so that a
//! batch is one write transaction, durable when its commit returns (redb's immediate
//! durability). Its memory is its page cache, bounded: it does not grow with the log.

use std::ops::Bound;
use std::path::Path;

use redb::TableDefinition;

use super::kv::{OrderedKv, Pairs, Visit};
use super::{Result, StorageError};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("log");

/// redb's page cache, for reads and writes.
const CACHE_BYTES: usize = 64 << 20;

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// A redb database.
pub struct Redb(redb::Database);

impl Redb {
    /// Opens (or creates) the database file `path`.
    pub fn open(path: &Path) -> Result<Redb> {
        let db = redb::Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(backend)?;
        let tx = db.begin_write().map_err(backend)?;
        tx.open_table(TABLE).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Redb(db))
    }

    fn table(&self) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>> {
        self.0
            .begin_read()
            .map_err(backend)?
            .open_table(TABLE)
            .map_err(backend)
    }
}

impl OrderedKv for Redb {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .table()?
            .get(key)
            .map_err(backend)?
            .map(|v| v.value().to_vec()))
    }

    fn scan_each(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
        each: &mut Visit<'_>,
    ) -> Result<()> {
        let table = self.table()?;
        let end = to.map_or(Bound::Unbounded, Bound::Excluded);
        let range = table
            .range::<&[u8]>((Bound::Included(from), end))
            .map_err(backend)?;
        for item in range.take(limit) {
            let (k, v) = item.map_err(backend)?;
            each(k.value(), v.value())?;
        }
        Ok(())
    }

    fn write(&self, pairs: Pairs) -> Result<()> {
        let tx = self.0.begin_write().map_err(backend)?;
        {
            let mut table = tx.open_table(TABLE).map_err(backend)?;
            for (k, v) in &pairs {
                table.insert(k.as_slice(), v.as_slice()).map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }
}

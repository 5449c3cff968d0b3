//! A storage for tests that fails on demand.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::ThreadId;

use certlog_verifier::Hash;
use certlog_verifier::proto::{CertifierRecord, StatusRecord};

use super::{Batch, MapCell, MemoryStorage, Result, StatusEncodings, Storage, StorageError};

/// Memory storage whose commits fail after a number of successes (a full disk) or after a
/// flush, whose range reads (of status records and of status changes) fail once `reads_fail`
/// is set, and whose lists of status changes end with one at the log's next index once
/// `late_change` is set (where a change committed after the status record was read would
/// be). It notes the size at each flush, and the threads that read status records by range.
pub(crate) struct FailingStorage {
    pub inner: MemoryStorage,
    pub commits_left: AtomicUsize,
    pub reads_fail: AtomicBool,
    pub late_change: AtomicBool,
    pub flushed_at: Mutex<Vec<u64>>,
    pub status_readers: Mutex<HashSet<ThreadId>>,
}

impl FailingStorage {
    /// Storage that lets `commits` commits through.
    pub fn new(commits: usize) -> FailingStorage {
        FailingStorage {
            inner: MemoryStorage::default(),
            commits_left: AtomicUsize::new(commits),
            reads_fail: AtomicBool::new(false),
            late_change: AtomicBool::new(false),
            flushed_at: Mutex::default(),
            status_readers: Mutex::default(),
        }
    }

    /// A range read: fails once `reads_fail` is set.
    fn read(&self) -> Result<()> {
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(StorageError::Backend("Input/output error".into()));
        }
        Ok(())
    }
}

impl Storage for FailingStorage {
    fn size(&self) -> Result<u64> {
        self.inner.size()
    }
    fn entry(&self, i: u64) -> Result<Option<Vec<u8>>> {
        self.inner.entry(i)
    }
    fn entries(&self, s: u64, e: u64) -> Result<Vec<Vec<u8>>> {
        self.inner.entries(s, e)
    }
    fn leaf_index(&self, h: &Hash) -> Result<Option<u64>> {
        self.inner.leaf_index(h)
    }
    fn tile(&self, l: u8, i: u64) -> Result<Option<Vec<u8>>> {
        self.inner.tile(l, i)
    }
    fn certifier(&self, n: &str) -> Result<Option<CertifierRecord>> {
        self.inner.certifier(n)
    }
    fn status(&self, k: &Hash) -> Result<Option<StatusRecord>> {
        self.inner.status(k)
    }
    fn batch_start_at(&self, t: i64) -> Result<Option<u64>> {
        self.inner.batch_start_at(t)
    }
    fn changed_by(&self, c: &str, from: u64) -> Result<Vec<Hash>> {
        self.inner.changed_by(c, from)
    }
    fn status_encodings(&self, f: &Hash, l: &Hash, n: usize) -> Result<StatusEncodings> {
        self.read()?;
        let reader = std::thread::current().id();
        self.status_readers.lock().unwrap().insert(reader);
        self.inner.status_encodings(f, l, n)
    }
    fn status_changes(&self, k: &Hash) -> Result<Vec<u64>> {
        self.read()?;
        let mut changes = self.inner.status_changes(k)?;
        if self.late_change.load(Ordering::SeqCst) {
            changes.push(self.inner.size()?);
        }
        Ok(changes)
    }
    fn checkpoint(&self, s: u64) -> Result<Option<String>> {
        self.inner.checkpoint(s)
    }
    fn firmware(&self, d: &[u8; 32]) -> Result<Option<Hash>> {
        self.inner.firmware(d)
    }
    fn commit(&self, batch: &Batch) -> Result<()> {
        if !self.flushed_at.lock().unwrap().is_empty() {
            return Err(StorageError::Backend("a commit after a flush".into()));
        }
        let left = self.commits_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StorageError::Backend("No space left on device".into()));
        }
        self.commits_left.store(left - 1, Ordering::SeqCst);
        self.inner.commit(batch)
    }
    fn map_cells(&self, positions: Range<u32>) -> Result<Vec<(u32, MapCell)>> {
        self.inner.map_cells(positions)
    }
    fn put_map_cells(&self, c: &[(u32, MapCell)]) -> Result<()> {
        self.inner.put_map_cells(c)
    }
    fn flush(&self) -> Result<()> {
        self.flushed_at.lock().unwrap().push(self.inner.size()?);
        Ok(())
    }
}

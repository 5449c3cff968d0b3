//! No second history by accident (issue 18): `DIR/log.signed`, beside the log key, records the
//! largest tree the key signed as a checkpoint's body (origin, size, root hash, unsigned). It is
//! made with the key, at the empty tree, and written durably after a batch's commit and before
//! its checkpoint is published: no checkpoint is served, acknowledged or sent to a witness
//! before the record holds it. (A crash between the commit and the record leaves a database
//! ahead of the record, which the next start adopts: that checkpoint never left the process.)
//!
//! A start is refused when the database may hold less than the key signed: it is missing, or
//! holds a smaller tree, or another one at the recorded size. Signing from there would make a
//! second history under the same key, a fork anyone can prove. [`restore`] puts the database
//! back from a copy of the data directory.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use certlog_log::key_file::{self, KeyFileError};
use certlog_verifier::merkle::EMPTY_ROOT;
use certlog_verifier::{Checkpoint, Hash, SignedCheckpoint, VerifierKey};

use crate::storage::{Backend, Storage, StorageError};

/// The record's file name in the data directory.
pub const RECORD: &str = "log.signed";

/// How to go on after a refusal; `{0}` is the data directory.
const WAY_OUT: &str = "Restore the data from a copy of the data directory (`certlogd restore --from COPY --data DIR`), \
     or start a new log deliberately, under a new key: move log.key, log.vkey, log.signed and the \
     database out of DIR.";

/// Why the record cannot be kept, or the data directory does not hold what the key signed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The record does not hold a checkpoint body of this log.
    #[error("{}: not the largest tree signed by the log key of {origin}: {reason}", path.display())]
    Malformed {
        /// The record.
        path: PathBuf,
        /// The log's origin.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The log key exists without the record, and the database is missing or empty.
    #[error(
        "{} is missing, and the database {} is missing or empty: log.key may have signed a tree that is gone, and starting would sign a second history under the same key, a fork anyone can prove. {}",
        dir.join(RECORD).display(), database.display(), WAY_OUT.replace("DIR", &dir.display().to_string())
    )]
    NoRecord {
        /// The data directory.
        dir: PathBuf,
        /// The database.
        database: PathBuf,
    },
    /// The database is gone.
    #[error(
        "{} is missing, but log.key has signed a tree of size {signed} (recorded in {}): starting would sign a second history under the same key, a fork anyone can prove. {}",
        database.display(), dir.join(RECORD).display(), WAY_OUT.replace("DIR", &dir.display().to_string())
    )]
    DatabaseMissing {
        /// The data directory.
        dir: PathBuf,
        /// The missing database.
        database: PathBuf,
        /// The recorded size.
        signed: u64,
    },
    /// The database holds less than the key signed.
    #[error(
        "the database {} holds a tree of size {held}, but log.key has signed a tree of size {signed} (recorded in {}): starting would sign a second history under the same key, a fork anyone can prove. {}",
        database.display(), dir.join(RECORD).display(), WAY_OUT.replace("DIR", &dir.display().to_string())
    )]
    Behind {
        /// The data directory.
        dir: PathBuf,
        /// The database.
        database: PathBuf,
        /// Its tree size.
        held: u64,
        /// The recorded size.
        signed: u64,
    },
    /// The database holds another tree at the recorded size.
    #[error(
        "the database {} does not hold the tree of size {signed} that log.key signed (recorded in {}): {reason}. {}",
        database.display(), dir.join(RECORD).display(), WAY_OUT.replace("DIR", &dir.display().to_string())
    )]
    Differs {
        /// The data directory.
        dir: PathBuf,
        /// The database.
        database: PathBuf,
        /// The recorded size.
        signed: u64,
        /// What the database holds instead of the recorded root.
        reason: String,
    },
    /// The copy given to [`restore`] is of another log.
    #[error("{} is not {}: the copy is of another log", copy.display(), log.display())]
    OtherLog {
        /// The copy's `log.vkey`.
        copy: PathBuf,
        /// The log's.
        log: PathBuf,
    },
    /// The copy given to [`restore`] holds no database of the backend.
    #[error("{} holds no database: is it a copy of the data directory, and is --storage {backend} its backend?", copy.display())]
    NoCopy {
        /// The copy.
        copy: PathBuf,
        /// The backend.
        backend: String,
    },
    /// A key file.
    #[error("{0}")]
    Key(#[from] KeyFileError),
    /// The database.
    #[error("{0}")]
    Storage(#[from] StorageError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |source| HistoryError::Io {
        path: path.into(),
        source,
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
fn sync_dir(dir: &Path) -> Result<(), HistoryError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// The largest tree the log key signed, as recorded.
#[derive(Debug)]
pub struct LargestSigned {
    /// The record; none for a log kept in memory.
    path: Option<PathBuf>,
    /// The tree, as a checkpoint without signature.
    tree: Checkpoint,
}

impl LargestSigned {
    /// A record in memory only, for a log whose storage is in memory (tests).
    pub fn in_memory(origin: &str) -> LargestSigned {
        LargestSigned {
            path: None,
            tree: Checkpoint::new(origin, 0, EMPTY_ROOT),
        }
    }

    /// Records the empty tree for a new log key of `origin`, before the key is written.
    pub fn create(dir: &Path, origin: &str) -> Result<LargestSigned, HistoryError> {
        let mut record = LargestSigned::in_memory(origin);
        record.path = Some(dir.join(RECORD));
        record.write()?;
        Ok(record)
    }

    /// The record of `dir`, if there is one; it must be of `origin`.
    pub fn read(dir: &Path, origin: &str) -> Result<Option<LargestSigned>, HistoryError> {
        let path = dir.join(RECORD);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let malformed = |reason: String| HistoryError::Malformed {
            path: path.clone(),
            origin: origin.into(),
            reason,
        };
        let tree = Checkpoint::parse(&text).map_err(|e| malformed(e.to_string()))?;
        if tree.origin != origin {
            return Err(malformed(format!("it is of {:?}", tree.origin)));
        }
        Ok(Some(LargestSigned {
            path: Some(path),
            tree,
        }))
    }

    /// The recorded tree size.
    pub fn size(&self) -> u64 {
        self.tree.size
    }

    /// Writes the record durably: a new file, synced, renamed over the old, and the directory
    /// synced.
    fn write(&self) -> Result<(), HistoryError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let temporary = path.with_extension("signed.new");
        fs::File::create(&temporary)
            .and_then(|mut file| {
                file.write_all(self.tree.to_text().as_bytes())?;
                file.sync_all()
            })
            .map_err(io(&temporary))?;
        fs::rename(&temporary, path).map_err(io(path))?;
        sync_dir(dir)
    }

    /// Records the tree of `size` and `root` if it is larger than the recorded one; durable
    /// when it returns.
    pub fn advance(&mut self, size: u64, root: Hash) -> Result<(), HistoryError> {
        if size <= self.tree.size {
            return Ok(());
        }
        let larger = Checkpoint::new(self.tree.origin.clone(), size, root);
        let previous = std::mem::replace(&mut self.tree, larger);
        self.write().inspect_err(|_| self.tree = previous)
    }

    /// Checks that `storage` (the database `database` of the data directory `dir`) holds the
    /// recorded tree: at least its size, and the log key's checkpoint of that size with its
    /// root.
    pub fn check(
        &self,
        storage: &dyn Storage,
        log_vkey: &VerifierKey,
        dir: &Path,
        database: &Path,
    ) -> Result<(), HistoryError> {
        let (signed, root) = (self.tree.size, self.tree.root);
        let held = storage.size()?;
        if held < signed {
            return Err(HistoryError::Behind {
                dir: dir.into(),
                database: database.into(),
                held,
                signed,
            });
        }
        if signed == 0 {
            // Every empty tree is the same.
            return Ok(());
        }
        let differs = |reason: String| HistoryError::Differs {
            dir: dir.into(),
            database: database.into(),
            signed,
            reason: format!("{reason} (the recorded root is {root})"),
        };
        let text = storage
            .checkpoint(signed)?
            .ok_or_else(|| differs(format!("it holds no checkpoint of size {signed}")))?;
        let stored = SignedCheckpoint::verify(text.as_bytes(), log_vkey)
            .map_err(|e| differs(format!("its checkpoint of size {signed}: {e}")))?;
        if stored.checkpoint.root != root {
            return Err(differs(format!(
                "its checkpoint of size {signed} has root {}",
                stored.checkpoint.root
            )));
        }
        Ok(())
    }
}

/// Opens the database of `dir` for serving, with the record, once it is sure that the
/// database holds every tree the log key signed. A missing database is never created over a
/// record of a non-empty tree. A data directory without a record (made before records were
/// kept) gets one from its database, which must not be empty.
pub fn open(
    dir: &Path,
    backend: Backend,
    log_vkey: &VerifierKey,
) -> Result<(Arc<dyn Storage>, LargestSigned), HistoryError> {
    let record = LargestSigned::read(dir, log_vkey.name())?;
    // Another backend's database is not a missing one.
    backend.refuse_others(dir)?;
    let database = backend.path(dir);
    let no_record = || HistoryError::NoRecord {
        dir: dir.into(),
        database: database.clone(),
    };
    if !database.exists() {
        match &record {
            None => return Err(no_record()),
            Some(r) if r.size() > 0 => {
                return Err(HistoryError::DatabaseMissing {
                    dir: dir.into(),
                    database,
                    signed: r.size(),
                });
            }
            Some(_) => {}
        }
    }
    let storage = backend.open(dir)?;
    let record = match record {
        Some(record) => {
            record.check(&*storage, log_vkey, dir, &database)?;
            record
        }
        None => {
            let size = storage.size()?;
            let text = match storage.checkpoint(size)? {
                Some(text) if size > 0 => text,
                _ => return Err(no_record()),
            };
            let stored = SignedCheckpoint::verify(text.as_bytes(), log_vkey).map_err(|e| {
                HistoryError::Storage(StorageError::Corrupt(format!("stored checkpoint: {e}")))
            })?;
            let mut record = LargestSigned {
                path: Some(dir.join(RECORD)),
                tree: Checkpoint::new(log_vkey.name(), 0, EMPTY_ROOT),
            };
            record.advance(size, stored.checkpoint.root)?;
            tracing::warn!(
                size,
                "{} was missing: recorded the database's checkpoint",
                dir.join(RECORD).display()
            );
            record
        }
    };
    Ok((storage, record))
}

/// Copies a directory or file durably: every file and directory synced.
fn copy_durably(from: &Path, to: &Path) -> Result<(), HistoryError> {
    if from.is_dir() {
        fs::create_dir(to).map_err(io(to))?;
        for entry in fs::read_dir(from).map_err(io(from))? {
            let entry = entry.map_err(io(from))?;
            copy_durably(&entry.path(), &to.join(entry.file_name()))?;
        }
        sync_dir(to)
    } else {
        fs::copy(from, to).map_err(io(to))?;
        fs::File::open(to)
            .and_then(|f| f.sync_all())
            .map_err(io(to))
    }
}

/// What [`restore`] did.
#[derive(Debug)]
pub struct Restored {
    /// The database put in place.
    pub database: PathBuf,
    /// Its tree size.
    pub size: u64,
    /// The largest tree the log key signed, which it holds.
    pub signed: u64,
    /// Where the database it replaced was moved, if there was one.
    pub replaced: Option<PathBuf>,
}

/// Puts the database of `copy` (a copy of the data directory) in place in `dir`, once it is
/// sure that it is this log's and holds every tree the log key signed (see
/// [`LargestSigned::check`]). A database in `dir` is moved aside, never deleted. certlogd must
/// not run on `dir` meanwhile.
pub fn restore(copy: &Path, dir: &Path, backend: Backend) -> Result<Restored, HistoryError> {
    let vkey_file = dir.join("log.vkey");
    let log_vkey = key_file::read_verifier_key(&vkey_file)?;
    let copy_vkey_file = copy.join("log.vkey");
    if key_file::read_verifier_key(&copy_vkey_file)? != log_vkey {
        return Err(HistoryError::OtherLog {
            copy: copy_vkey_file,
            log: vkey_file,
        });
    }
    let record = LargestSigned::read(dir, log_vkey.name())?.ok_or(HistoryError::Io {
        path: dir.join(RECORD),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let source = backend.path(copy);
    if !source.exists() {
        return Err(HistoryError::NoCopy {
            copy: copy.into(),
            backend: format!("{backend:?}").to_lowercase(),
        });
    }
    // Copied into DIR first, so that it is renamed into place on the same file system, and
    // opened there (opening may write to it).
    let staging = dir.join(".restore");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    fs::create_dir(&staging).map_err(io(&staging))?;
    let staged = backend.path(&staging);
    let checked = copy_durably(&source, &staged).and_then(|()| {
        let storage = backend.open(&staging)?;
        record.check(&*storage, &log_vkey, dir, &source)?;
        Ok(storage.size()?)
    });
    let size = match checked {
        Ok(size) => size,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let database = backend.path(dir);
    let replaced = if database.exists() {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = dir.join(format!(
            "{}.replaced-{unix}",
            database
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        fs::rename(&database, &aside).map_err(io(&database))?;
        Some(aside)
    } else {
        None
    };
    fs::rename(&staged, &database).map_err(io(&database))?;
    sync_dir(dir)?;
    fs::remove_dir_all(&staging).map_err(io(&staging))?;
    Ok(Restored {
        database,
        size,
        signed: record.size(),
        replaced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::tests::log_key;

    #[test]
    fn the_record_only_grows_and_survives_a_reread() {
        let dir = tempfile::tempdir().unwrap();
        let origin = log_key().name().to_owned();
        let mut record = LargestSigned::create(dir.path(), &origin).unwrap();
        record.advance(5, Hash([5; 32])).unwrap();
        record.advance(3, Hash([3; 32])).unwrap();
        let read = LargestSigned::read(dir.path(), &origin).unwrap().unwrap();
        assert_eq!((read.size(), read.tree.root), (5, Hash([5; 32])));
        assert!(!dir.path().join("log.signed.new").exists());
        // A record of another log is refused.
        let other = LargestSigned::read(dir.path(), "other.example/log");
        assert!(
            matches!(other, Err(HistoryError::Malformed { .. })),
            "{other:?}"
        );
    }

    #[test]
    fn a_database_that_holds_less_than_the_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (key, origin) = (log_key(), log_key().name().to_owned());
        let mut record = LargestSigned::create(dir.path(), &origin).unwrap();
        let storage = crate::storage::MemoryStorage::default();
        let vkey = key.verifier_key();
        let check = |record: &LargestSigned| record.check(&storage, &vkey, dir.path(), dir.path());
        check(&record).unwrap();
        record.advance(1, Hash([1; 32])).unwrap();
        assert!(matches!(
            check(&record),
            Err(HistoryError::Behind {
                held: 0,
                signed: 1,
                ..
            })
        ));
        // The same size with another root.
        let text = Checkpoint::new(&origin, 1, Hash([2; 32]))
            .sign(&key)
            .unwrap()
            .to_text();
        storage
            .commit(&crate::storage::Batch {
                size: 1,
                entries: vec![(0, b"entry".to_vec(), Hash([2; 32]))],
                checkpoint: text,
                ..Default::default()
            })
            .unwrap();
        assert!(matches!(
            check(&record),
            Err(HistoryError::Differs { signed: 1, .. })
        ));
    }
}

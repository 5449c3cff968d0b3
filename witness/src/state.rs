//! The witness's durable state: for each log, the latest checkpoint it cosigned (C2SP
//! tlog-witness, "add-checkpoint": the witness keeps the latest checkpoint it verified, and must
//! check the old size and persist the new checkpoint atomically, before answering).
//!
//! One file per log, `logs/<hex SHA-256 of the origin>`, holding the signed checkpoint note as
//! the log sent it. A new state is written to a temporary file, synced, renamed over the old one,
//! and the directory synced: after a crash the file holds either the old or the new checkpoint,
//! never a mix. The check and the write happen under the log's mutex, so two requests never both
//! move the state from the same size, and nothing is cosigned before its state is durable.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use certlog_log::witness::{self, AddCheckpoint, WitnessError, Witnessed};
use certlog_verifier::checkpoint::{Checkpoint, CheckpointError};
use certlog_verifier::key::KeyError;
use certlog_verifier::{KeyType, Note, SignedCheckpoint, VerifierKey};
use sha2::{Digest as _, Sha256};

/// The directory of the per-log state files, under the data directory.
pub const LOGS_DIR: &str = "logs";

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A state file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A state file does not hold a checkpoint.
    #[error("{}: not a checkpoint note: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: CheckpointError,
    },
    /// A state file holds the checkpoint of another origin than its name says.
    #[error("{}: holds a checkpoint of {found:?}, not of {wanted:?}", path.display())]
    WrongOrigin {
        /// The file.
        path: PathBuf,
        /// The origin in the file.
        found: String,
        /// The origin its name is the hash of.
        wanted: String,
    },
    /// A log of the configuration cannot be witnessed.
    #[error("log {origin:?}: {reason}")]
    InvalidLog {
        /// The log's origin.
        origin: String,
        /// Why.
        reason: String,
    },
}

/// Why an add-checkpoint request got no cosignature.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The request was refused, with the status the spec gives.
    #[error(transparent)]
    Refused(#[from] WitnessError),
    /// The new state could not be stored: nothing was cosigned (500).
    #[error("storing the witness state: {0}")]
    Storage(#[from] StateError),
    /// The cosignature could not be made (500).
    #[error("cosigning: {0}")]
    Cosign(String),
}

impl AddError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            AddError::Refused(e) => e.status(),
            AddError::Storage(_) | AddError::Cosign(_) => 500,
        }
    }
}

/// One witnessed log.
struct LogState {
    /// The log's key, whose name is the origin.
    key: VerifierKey,
    /// The state file.
    path: PathBuf,
    /// The latest cosigned size and root, as stored in `path`; `None` before the first.
    latest: Mutex<Option<Witnessed>>,
}

/// The latest cosigned checkpoint of every witnessed log.
pub struct WitnessState {
    dir: PathBuf,
    logs: HashMap<String, LogState>,
}

/// The state file name of a log: the hex SHA-256 of its origin (any origin makes a file name).
pub fn file_name(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.into(),
        source,
    }
}

/// Reads a state file: the size and root of the checkpoint it holds, `None` if there is none.
fn read_state(path: &Path, origin: &str) -> Result<Option<Witnessed>, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let corrupt = |source| StateError::Corrupt {
        path: path.into(),
        source,
    };
    let note = Note::parse(&bytes).map_err(|e| corrupt(CheckpointError::Note(e)))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(corrupt)?;
    if checkpoint.origin != origin {
        return Err(StateError::WrongOrigin {
            path: path.into(),
            found: checkpoint.origin,
            wanted: origin.into(),
        });
    }
    Ok(Some(Witnessed::of(&checkpoint)))
}

/// Replaces `path` with `bytes` durably: temporary file, sync, rename, sync of the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_error(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl WitnessState {
    /// Opens the state under `data_dir/logs` (created if missing) for `logs`, each an origin
    /// and the log's Ed25519 note key, whose name must be the origin.
    pub fn open(
        data_dir: &Path,
        logs: Vec<(String, VerifierKey)>,
    ) -> Result<WitnessState, StateError> {
        let dir = data_dir.join(LOGS_DIR);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            sync_dir(data_dir)?;
        }
        let mut states = HashMap::new();
        for (origin, key) in logs {
            let invalid = |reason: String| StateError::InvalidLog {
                origin: origin.clone(),
                reason,
            };
            key.expect_type(KeyType::Ed25519)
                .map_err(|e: KeyError| invalid(e.to_string()))?;
            if key.name() != origin {
                return Err(invalid(format!(
                    "the key {key} is named {:?}: a log's key is named by its origin",
                    key.name()
                )));
            }
            if states.contains_key(&origin) {
                return Err(invalid("given twice".into()));
            }
            let path = dir.join(file_name(&origin));
            let latest = read_state(&path, &origin)?;
            states.insert(
                origin,
                LogState {
                    key,
                    path,
                    latest: Mutex::new(latest),
                },
            );
        }
        Ok(WitnessState { dir, logs: states })
    }

    /// The directory of the state files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The origins witnessed.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The latest cosigned size and root of a log; `None` for an unknown log or before the first.
    pub fn latest(&self, origin: &str) -> Option<Witnessed> {
        let log = self.logs.get(origin)?;
        *log.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks a request ([`witness::check`]) and, when it passes, makes its checkpoint the log's
    /// latest, durably, before returning it to be cosigned. Atomic per log: the check and the
    /// write happen under the log's mutex.
    pub fn add_checkpoint(&self, request: &AddCheckpoint) -> Result<SignedCheckpoint, AddError> {
        let origin = witness::origin(&request.checkpoint)?;
        let Some(log) = self.logs.get(origin) else {
            // Still checked, so that a malformed checkpoint is a 400 rather than a 404.
            let refusal = witness::check(request, None, None)
                .err()
                .unwrap_or_else(|| WitnessError::UnknownOrigin(origin.into()));
            return Err(refusal.into());
        };
        // A panic while the lock was held left the state as stored: it is assigned last.
        let mut latest = log.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let signed = witness::check(request, Some(&log.key), latest.as_ref())?;
        let new = Witnessed::of(&signed.checkpoint);
        // The same checkpoint again is cosigned again; its state is already on disk.
        if latest.as_ref() != Some(&new) {
            write_durably(&log.path, &request.checkpoint)?;
            *latest = Some(new);
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certlog_verifier::SigningKey;
    use certlog_verifier::merkle::EMPTY_ROOT;

    #[test]
    fn file_names_are_the_hash_of_the_origin() {
        // SHA-256("abc"), FIPS 180-2.
        assert_eq!(
            file_name("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn configuration_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let key = |name: &str, t| {
            SigningKey::from_seed(name, t, &[1; 32])
                .unwrap()
                .verifier_key()
        };
        let log = key("a.example/log", KeyType::Ed25519);
        let open = |logs| WitnessState::open(dir.path(), logs);
        assert!(open(vec![("a.example/log".into(), log.clone())]).is_ok());
        for logs in [
            vec![("b.example/log".into(), log.clone())],
            vec![(
                "a.example/log".into(),
                key("a.example/log", KeyType::CosignatureV1),
            )],
            vec![
                ("a.example/log".into(), log.clone()),
                ("a.example/log".into(), log.clone()),
            ],
        ] {
            assert!(
                matches!(open(logs), Err(StateError::InvalidLog { .. })),
                "accepted"
            );
        }
    }

    #[test]
    fn state_files_are_checked_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed("a.example/log", KeyType::Ed25519, &[1; 32]).unwrap();
        let logs = || vec![("a.example/log".to_string(), key.verifier_key())];
        let path = dir.path().join(LOGS_DIR).join(file_name("a.example/log"));
        WitnessState::open(dir.path(), logs()).unwrap();

        fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            WitnessState::open(dir.path(), logs()),
            Err(StateError::Corrupt { .. })
        ));
        let other = SigningKey::from_seed("b.example/log", KeyType::Ed25519, &[1; 32]).unwrap();
        let b = Checkpoint::new("b.example/log", 0, EMPTY_ROOT)
            .sign(&other)
            .unwrap();
        fs::write(&path, b.to_text()).unwrap();
        assert!(matches!(
            WitnessState::open(dir.path(), logs()),
            Err(StateError::WrongOrigin { .. })
        ));
        let a = Checkpoint::new("a.example/log", 0, EMPTY_ROOT)
            .sign(&key)
            .unwrap();
        fs::write(&path, a.to_text()).unwrap();
        // A temporary file left by a crash is not the state.
        fs::write(path.with_extension("tmp"), "half written").unwrap();
        let state = WitnessState::open(dir.path(), logs()).unwrap();
        assert_eq!(
            state.latest("a.example/log"),
            Some(Witnessed {
                size: 0,
                root: EMPTY_ROOT
            })
        );
    }
}

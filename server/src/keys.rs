//! The log's keys, in the data directory: `log.key` signs checkpoints (its name is the origin,
//! its public half is `log.vkey`, the largest tree it signed is in `log.signed`, see
//! [`crate::history`]); `operator.vkey` checks the certifier registry, whose private
//! key the operator keeps off the log server (issue 18: the log never needs it). On a log's
//! first start the log key is made, and `operator.vkey` copied from `--operator-vkey`, or, without
//! it, made with `operator.key` beside it, which the operator then moves elsewhere.

use std::path::{Path, PathBuf};

use certlog_log::key_file::{self, KeyFileError};
use certlog_verifier::{KeyType, SigningKey, VerifierKey};

use crate::history::{HistoryError, LargestSigned};
use crate::storage::Backend;

/// The keys of a log.
pub struct Keys {
    /// Signs checkpoints.
    pub log: SigningKey,
    /// Checks registry statements.
    pub operator: VerifierKey,
}

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// A key file is unreadable or malformed.
    #[error("{0}")]
    File(#[from] KeyFileError),
    /// A key of an existing log is missing: a new one would not verify what the log signed.
    #[error("{} is missing, but this data directory already holds a log ({}): restore the key from a backup", key.display(), evidence.display())]
    Missing {
        /// The missing key file.
        key: PathBuf,
        /// What shows there is a log.
        evidence: PathBuf,
    },
    /// The data directory belongs to a log of another origin.
    #[error(
        "the log key in this data directory is for origin {found:?}, not {wanted:?}: start with --origin {found}"
    )]
    OriginMismatch {
        /// The origin of the stored key.
        found: String,
        /// The origin asked for.
        wanted: String,
    },
    /// The record of the largest tree the log key signed.
    #[error("{0}")]
    History(#[from] HistoryError),
    /// `--operator-vkey` names another key than the existing log's.
    #[error(
        "--operator-vkey {} is not the operator key of this log, {}: leave the flag out (it is read on the first start only) or give that key",
        given.display(), stored.display()
    )]
    OperatorMismatch {
        /// The file given.
        given: PathBuf,
        /// The log's `operator.vkey`.
        stored: PathBuf,
    },
}

/// The first thing in `dir` that shows a log exists there: `also`, or a database.
fn existing_log(dir: &Path, also: Option<PathBuf>) -> Option<PathBuf> {
    also.into_iter()
        .chain(Backend::ALL.map(|b| b.path(dir)))
        .find(|p| p.exists())
}

/// Loads the log key, or creates it for a new log only: never over the public key of an
/// existing one.
fn load_or_create_log_key(dir: &Path, origin: &str) -> Result<SigningKey, KeysError> {
    let path = dir.join("log.key");
    if path.exists() {
        return Ok(key_file::read_signing_key(&path)?);
    }
    let vkey = dir.join("log.vkey");
    // A record of a tree beyond the empty one shows that a key signed it.
    let signed = LargestSigned::read(dir, origin)?
        .filter(|r| r.size() > 0)
        .map(|_| dir.join(crate::history::RECORD));
    if let Some(evidence) = signed.or_else(|| existing_log(dir, Some(vkey.clone()))) {
        return Err(KeysError::Missing {
            key: path,
            evidence,
        });
    }
    // The record first: a key never exists without one.
    LargestSigned::create(dir, origin)?;
    let key = key_file::generate(origin, KeyType::Ed25519)?;
    key_file::write_signing_key(&path, &key)?;
    key_file::write_verifier_key(&vkey, &key.verifier_key())?;
    tracing::info!(key = %key.verifier_key(), "created the log key");
    Ok(key)
}

/// Loads `operator.vkey`; on a new log, copies it from `given`, or else makes the pair.
fn load_or_create_operator_vkey(
    dir: &Path,
    origin: &str,
    given: Option<&Path>,
) -> Result<VerifierKey, KeysError> {
    let path = dir.join("operator.vkey");
    let private = dir.join("operator.key");
    let given_key = given.map(key_file::read_verifier_key).transpose()?;
    if path.exists() {
        let stored = key_file::read_verifier_key(&path)?;
        if let (Some(given), Some(key)) = (given, &given_key)
            && *key != stored
        {
            return Err(KeysError::OperatorMismatch {
                given: given.into(),
                stored: path,
            });
        }
        if private.exists() {
            tracing::warn!(
                "{} is the operator's private key, which the log never needs: move it elsewhere",
                private.display()
            );
        }
        return Ok(stored);
    }
    if let Some(evidence) = existing_log(dir, None) {
        return Err(KeysError::Missing {
            key: path,
            evidence,
        });
    }
    if let Some(key) = given_key {
        key_file::write_verifier_key(&path, &key)?;
        tracing::info!(%key, "copied the operator's verifier key");
        return Ok(key);
    }
    // A new pair, unless a first start stopped between writing its two halves.
    let key = if private.exists() {
        key_file::read_signing_key(&private)?
    } else {
        let key = key_file::generate(&format!("{origin}/operator"), KeyType::Ed25519)?;
        key_file::write_signing_key(&private, &key)?;
        key
    };
    key_file::write_verifier_key(&path, &key.verifier_key())?;
    tracing::warn!(
        key = %key.verifier_key(),
        "created the operator key: {} signs the certifier registry and the log never needs it: \
         move it elsewhere (certlogd reads only {}; --operator-vkey FILE on a first start \
         never makes it)",
        private.display(),
        path.display()
    );
    Ok(key.verifier_key())
}

/// Loads the keys from `dir`, creating those that do not exist yet; `operator_vkey` is the
/// operator's verifier key file for a new log (`--operator-vkey`).
pub fn load_or_create_keys(
    dir: &Path,
    origin: &str,
    operator_vkey: Option<&Path>,
) -> Result<Keys, KeysError> {
    let log = load_or_create_log_key(dir, origin)?;
    if log.name() != origin {
        return Err(KeysError::OriginMismatch {
            found: log.name().into(),
            wanted: origin.into(),
        });
    }
    let operator = load_or_create_operator_vkey(dir, origin, operator_vkey)?;
    Ok(Keys { log, operator })
}

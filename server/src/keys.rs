//! The log's keys, in the data directory: `log.key` signs checkpoints (its name is the origin),
//! `operator.key` authorises the certifier registry. Created on first start, with their public
//! halves in `log.vkey` and `operator.vkey`.

use std::path::Path;

use certlog_verifier::key_file::{self, KeyFileError};
use certlog_verifier::{KeyType, SigningKey};

use crate::storage::Backend;

/// The keys of a log.
pub struct Keys {
    /// Signs checkpoints.
    pub log: SigningKey,
    /// Signs registry statements.
    pub operator: SigningKey,
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
        key: std::path::PathBuf,
        /// What shows there is a log.
        evidence: std::path::PathBuf,
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
}

/// Loads a key, or creates it for a new log only: never over the public key of an existing one.
fn load_or_create(dir: &Path, stem: &str, name: &str) -> Result<SigningKey, KeysError> {
    let path = dir.join(format!("{stem}.key"));
    if path.exists() {
        return Ok(key_file::read_signing_key(&path)?);
    }
    let vkey = dir.join(format!("{stem}.vkey"));
    let databases = Backend::ALL.map(|b| b.path(dir));
    for evidence in std::iter::once(vkey.clone()).chain(databases) {
        if evidence.exists() {
            return Err(KeysError::Missing {
                key: path,
                evidence,
            });
        }
    }
    let key = key_file::generate(name, KeyType::Ed25519)?;
    key_file::write_signing_key(&path, &key)?;
    key_file::write_verifier_key(&vkey, &key.verifier_key())?;
    tracing::info!(key = %key.verifier_key(), "created {stem} key");
    Ok(key)
}

/// Loads the keys from `dir`, creating those that do not exist yet.
pub fn load_or_create_keys(dir: &Path, origin: &str) -> Result<Keys, KeysError> {
    let log = load_or_create(dir, "log", origin)?;
    if log.name() != origin {
        return Err(KeysError::OriginMismatch {
            found: log.name().into(),
            wanted: origin.into(),
        });
    }
    let operator = load_or_create(dir, "operator", &format!("{origin}/operator"))?;
    Ok(Keys { log, operator })
}

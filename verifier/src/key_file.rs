//! Key files: a private key in its `PRIVATE+KEY+...` form, readable by its owner only (mode
//! 0600 on Unix), and a verifier key on one line.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::string::String;

use crate::key::{KeyError, SigningKey, VerifierKey};

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key could not be made.
    #[error("generating a key: {0}")]
    Generate(String),
    /// The file does not hold a key.
    #[error("{}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with the key.
        source: KeyError,
    },
}

fn read(path: &Path) -> Result<String, KeyFileError> {
    fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.into(),
        source,
    })
}

/// Reads a private key.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    SigningKey::from_private_string(&read(path)?).map_err(|source| KeyFileError::Key {
        path: path.into(),
        source,
    })
}

/// Reads a verifier key: the first line of the file.
pub fn read_verifier_key(path: &Path) -> Result<VerifierKey, KeyFileError> {
    let text = read(path)?;
    text.lines()
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|source| KeyFileError::Key {
            path: path.into(),
            source,
        })
}

/// Writes a new private key file, readable by its owner only; refuses to overwrite one.
pub fn write_signing_key(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.into(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(std::format!("{}\n", key.to_private_string()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)
}

/// Writes a new verifier key file (public); refuses to overwrite one.
pub fn write_verifier_key(path: &Path, key: &VerifierKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.into(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(std::format!("{key}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)
}

/// A new Ed25519 key of `key_type` named `name`, from the operating system's randomness.
pub fn generate(name: &str, key_type: crate::KeyType) -> Result<SigningKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| KeyFileError::Generate(std::format!("no randomness: {e}")))?;
    SigningKey::from_seed(name, key_type, &seed)
        .map_err(|e| KeyFileError::Generate(std::format!("{e}")))
}

/// A verifier key given on a command line: the vkey itself, or `@FILE` or a path to a file
/// holding it on its first line.
pub fn verifier_key_arg(arg: &str) -> Result<VerifierKey, KeyFileError> {
    if let Some(path) = arg.strip_prefix('@') {
        return read_verifier_key(Path::new(path));
    }
    match arg.parse::<VerifierKey>() {
        Ok(key) => Ok(key),
        Err(source) if !Path::new(arg).is_file() => Err(KeyFileError::Key {
            path: arg.into(),
            source,
        }),
        Err(_) => read_verifier_key(Path::new(arg)),
    }
}

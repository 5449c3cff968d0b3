//! Key files: a private key in its `PRIVATE+KEY+...` form, readable by its owner only (mode
//! 0600 on Unix), and a verifier key on one line.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::string::String;

use certlog_verifier::key::{KeyError, SigningKey, VerifierKey};

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
    /// A private key file that others than its owner may read (Unix).
    #[error(
        "{}: a private key must be readable by its owner only, but the file's mode is {mode:04o}: chmod 600 it",
        path.display()
    )]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
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

/// Refuses a private key file that its group or others may read or write (Unix), as
/// [`write_signing_key`] never makes one: such a key may be known to others.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = fs::metadata(path).map_err(|source| KeyFileError::Io {
        path: path.into(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::NotPrivate {
            path: path.into(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

/// Reads a private key; on Unix the file must be readable by its owner only (mode 0600 or
/// stricter).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    check_private(path)?;
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
pub fn generate(
    name: &str,
    key_type: certlog_verifier::KeyType,
) -> Result<SigningKey, KeyFileError> {
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::string::ToString as _;

    #[test]
    fn a_private_key_others_may_read_is_refused() {
        let dir =
            std::env::temp_dir().join(std::format!("certlog-key-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cb.key");
        let _ = fs::remove_file(&path);
        let key = SigningKey::from_seed("cb.example", certlog_verifier::KeyType::Ed25519, &[1; 32])
            .unwrap();
        write_signing_key(&path, &key).unwrap();
        assert_eq!(read_signing_key(&path).unwrap().key_id(), key.key_id());
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = read_signing_key(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::NotPrivate { mode: m, .. } if m == mode),
                "{err}"
            );
            assert!(
                err.to_string().contains(&std::format!("{mode:04o}")),
                "{err}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_signing_key(&path).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}

//! Reading the command line's values: hashes, proofs, files and verifier keys. Every failure
//! here is a usage error (exit status 2).

use std::io::Read as _;
use std::path::Path;

use certlog_verifier::key::KeyType;
use certlog_verifier::{Hash, VerifierKey};

use crate::Error;

/// A base64 hash given as `--<flag>`.
pub fn hash(flag: &str, text: &str) -> Result<Hash, Error> {
    Hash::from_base64(text.trim()).map_err(|err| Error::Usage(format!("--{flag}: {err}")))
}

/// The proof hashes of every `--proof` value, in order: each value is a comma-separated list, and
/// an empty value adds nothing.
pub fn proof(values: &[String]) -> Result<Vec<Hash>, Error> {
    let mut hashes = Vec::new();
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        for item in value.split(',') {
            hashes.push(hash("proof", item)?);
        }
    }
    Ok(hashes)
}

/// The bytes of a file, or of stdin for `-`.
pub fn read(path: &str) -> Result<Vec<u8>, Error> {
    if path != "-" {
        return read_file(path);
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|err| Error::Usage(format!("reading stdin: {err}")))?;
    Ok(bytes)
}

/// The bytes of a file.
fn read_file(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|err| Error::Usage(format!("reading {path}: {err}")))
}

/// A verifier key of type `key_type` given as `--<flag>`: the vkey itself, `@FILE`, or the path of
/// a file; a file holds the vkey on its first line.
pub fn verifier_key(flag: &str, arg: &str, key_type: KeyType) -> Result<VerifierKey, Error> {
    let key = if let Some(path) = arg.strip_prefix('@') {
        key_file(flag, path)?
    } else {
        match arg.parse::<VerifierKey>() {
            Ok(key) => key,
            Err(_) if Path::new(arg).is_file() => key_file(flag, arg)?,
            Err(err) => {
                return Err(Error::Usage(format!(
                    "--{flag} {arg:?} is neither a verifier key ({err}) nor a file"
                )));
            }
        }
    };
    key.expect_type(key_type)
        .map_err(|err| Error::Usage(format!("--{flag}: {err}")))?;
    Ok(key)
}

fn key_file(flag: &str, path: &str) -> Result<VerifierKey, Error> {
    let bytes = read_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().next().unwrap_or_default();
    line.parse()
        .map_err(|err| Error::Usage(format!("--{flag}: the first line of {path}: {err}")))
}

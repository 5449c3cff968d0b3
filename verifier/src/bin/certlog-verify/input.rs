//! Reading the command line's values: hashes, proofs, files and verifier keys. Every failure
//! here is a usage error (exit status 2).

use std::io::Read as _;

use certlog_verifier::key::KeyType;
use certlog_verifier::key_file;
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
    let key =
        key_file::verifier_key_arg(arg).map_err(|err| Error::Usage(format!("--{flag}: {err}")))?;
    key.expect_type(key_type)
        .map_err(|err| Error::Usage(format!("--{flag}: {err}")))?;
    Ok(key)
}

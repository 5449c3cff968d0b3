//! Reading the command line's values: hashes, proofs, files and verifier keys. Every failure
//! here is a usage error (exit status 2).

use std::io::Read as _;

use certlog_log::key_file;
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
    let key =
        key_file::verifier_key_arg(arg).map_err(|err| Error::Usage(format!("--{flag}: {err}")))?;
    key.expect_type(key_type)
        .map_err(|err| Error::Usage(format!("--{flag}: {err}")))?;
    Ok(key)
}

/// Whom to trust: the log's key, and witnesses with a quorum.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The log's verifier key.
    #[arg(long, value_name = "VKEY")]
    log_vkey: String,

    /// A witness's verifier key (cosignature type); repeat for several witnesses.
    #[arg(long, value_name = "VKEY")]
    witness: Vec<String>,

    /// How many of the witnesses must have cosigned [default: the number of --witness given].
    #[arg(long, value_name = "K")]
    quorum: Option<usize>,
}

/// The keys of [`TrustArgs`], read and checked.
pub struct Trust {
    /// The log's key.
    pub log_key: VerifierKey,
    /// The witnesses' keys.
    pub witnesses: Vec<VerifierKey>,
    /// How many must have cosigned.
    pub quorum: usize,
}

impl TrustArgs {
    /// Reads the keys; a quorum that can never be met is a usage error.
    pub fn read(&self) -> Result<Trust, Error> {
        let log_key = verifier_key("log-vkey", &self.log_vkey, KeyType::Ed25519)?;
        let mut witnesses = Vec::with_capacity(self.witness.len());
        for arg in &self.witness {
            let witness = verifier_key("witness", arg, KeyType::CosignatureV1)?;
            if witnesses.contains(&witness) {
                return Err(Error::Usage(format!("--witness {witness} is given twice")));
            }
            witnesses.push(witness);
        }
        let quorum = self.quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(Error::Usage(format!(
                "--quorum {quorum} can never be met by {} witnesses",
                witnesses.len()
            )));
        }
        Ok(Trust {
            log_key,
            witnesses,
            quorum,
        })
    }
}

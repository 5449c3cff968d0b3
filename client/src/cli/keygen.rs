//! `certlog keygen`.

use std::path::PathBuf;

use certlog_log::key_file;
use certlog_verifier::KeyType;

use super::Output;

#[derive(clap::Args)]
pub struct Args {
    /// The key name: a certifier's identity, best a URL without scheme (cb.example/eucc).
    #[arg(long)]
    name: String,
    /// Where to write the private key; it must not exist.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<Output> {
    let key = key_file::generate(&args.name, KeyType::Ed25519)?;
    key_file::write_signing_key(&args.out, &key)?;
    let vkey = key.verifier_key();
    Ok(Output {
        text: format!("{vkey}\n"),
        json: serde_json::json!({ "name": key.name(), "vkey": vkey.to_string(), "key_file": args.out }),
    })
}

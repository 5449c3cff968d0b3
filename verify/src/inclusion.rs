//! `certlog-verify inclusion`: an RFC 9162 inclusion proof (2.1.3.2).

use certlog_verifier::merkle;
use serde_json::json;

use crate::{Error, Verified, input, json_fields};

/// Checks that a leaf is in a tree: an RFC 9162 inclusion proof.
///
/// The leaf is given by its hash, or by the raw entry bytes in a file (hashed as SHA-256(0x00 ||
/// entry)).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    leaf: Leaf,

    /// The leaf's index in the tree, from 0.
    #[arg(long)]
    index: u64,

    /// The number of leaves in the tree.
    #[arg(long)]
    size: u64,

    /// The root of the tree, base64.
    #[arg(long, value_name = "B64")]
    root: String,

    /// The proof hashes, base64, from the leaf up: repeat the flag or separate with commas.
    #[arg(long, value_name = "B64[,B64...]")]
    proof: Vec<String>,
}

/// The leaf: exactly one of its hash or its entry bytes.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Leaf {
    /// The leaf hash, base64.
    #[arg(long, value_name = "B64")]
    leaf_hash: Option<String>,

    /// A file holding the raw entry bytes, or `-` for stdin.
    #[arg(long, value_name = "FILE")]
    entry_file: Option<String>,
}

pub fn run(args: &Args) -> Result<Verified, Error> {
    let leaf = match (&args.leaf.leaf_hash, &args.leaf.entry_file) {
        (Some(hash), _) => input::hash("leaf-hash", hash)?,
        (None, Some(path)) => merkle::leaf_hash(&input::read(path)?),
        (None, None) => return Err(Error::Usage("no leaf given".into())),
    };
    let root = input::hash("root", &args.root)?;
    let proof = input::proof(&args.proof)?;
    merkle::verify_inclusion(&leaf, args.index, args.size, &proof, &root)?;
    Ok(Verified {
        summary: format!(
            "leaf {leaf} is at index {} in the tree of size {} with root {root}",
            args.index, args.size
        ),
        details: Vec::new(),
        fields: json_fields(json!({
            "leaf_hash": leaf.to_base64(),
            "index": args.index,
            "size": args.size,
            "root": root.to_base64(),
        })),
        standing: None,
    })
}

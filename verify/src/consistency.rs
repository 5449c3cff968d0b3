//! `certlog-verify consistency`: an RFC 9162 consistency proof (2.1.4.2).

use certlog_verifier::merkle;
use serde_json::json;

use crate::{Error, Verified, input, json_fields};

/// Checks that a tree extends an older one: an RFC 9162 consistency proof.
///
/// Every tree extends the empty tree (size 0) with an empty proof.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The number of leaves in the older tree.
    #[arg(long)]
    size1: u64,

    /// The number of leaves in the newer tree.
    #[arg(long)]
    size2: u64,

    /// The root of the older tree, base64.
    #[arg(long, value_name = "B64")]
    root1: String,

    /// The root of the newer tree, base64.
    #[arg(long, value_name = "B64")]
    root2: String,

    /// The proof hashes, base64: repeat the flag or separate with commas.
    #[arg(long, value_name = "B64[,B64...]")]
    proof: Vec<String>,
}

pub fn run(args: &Args) -> Result<Verified, Error> {
    let root1 = input::hash("root1", &args.root1)?;
    let root2 = input::hash("root2", &args.root2)?;
    let proof = input::proof(&args.proof)?;
    merkle::verify_consistency(args.size1, args.size2, &root1, &root2, &proof)?;
    Ok(Verified {
        summary: format!(
            "the tree of size {} with root {root2} extends the tree of size {} with root {root1}",
            args.size2, args.size1
        ),
        details: Vec::new(),
        fields: json_fields(json!({
            "size1": args.size1,
            "size2": args.size2,
            "root1": root1.to_base64(),
            "root2": root2.to_base64(),
        })),
        standing: None,
    })
}

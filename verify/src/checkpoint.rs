//! `certlog-verify checkpoint`: a C2SP tlog-checkpoint signed by the log, and the C2SP
//! tlog-cosignature v1 cosignatures of witnesses.

use certlog_verifier::certificate::json::format_time;
use certlog_verifier::{Checkpoint, SignedCheckpoint};
use serde_json::json;

use crate::{Error, Verified, input, json_fields};

/// Checks a signed checkpoint and, optionally, witness cosignatures on it.
///
/// The checkpoint must carry a valid signature of the log's key, whose name is the checkpoint's
/// origin. With `--witness`, every cosignature of a given witness must verify and at least
/// `--quorum` of the witnesses must have cosigned.
///
/// A key is given as the verifier key string (`name+hex8+base64`), as `@FILE`, or as the path of a
/// file; a file holds the key on its first line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signed checkpoint, or `-` for stdin.
    #[arg(value_name = "FILE")]
    file: String,

    #[command(flatten)]
    trust: input::TrustArgs,
}

pub fn run(args: &Args) -> Result<Verified, Error> {
    let input::Trust {
        log_key,
        witnesses,
        quorum,
    } = args.trust.read()?;
    let bytes = input::read(&args.file)?;

    let signed = SignedCheckpoint::verify(&bytes, &log_key)?;
    let cosignatures = signed.verify_cosignatures(&witnesses, quorum)?;

    let Checkpoint {
        origin, size, root, ..
    } = &signed.checkpoint;
    Ok(Verified {
        summary: format!("checkpoint of {origin} at size {size} with root {root}"),
        details: cosignatures
            .iter()
            .map(|c| {
                format!(
                    "cosigned by {} at {}",
                    c.name,
                    format_time(i64::try_from(c.timestamp).unwrap_or(i64::MAX))
                )
            })
            .collect(),
        fields: json_fields(json!({
            "origin": origin,
            "size": size,
            "root": root.to_base64(),
            "quorum": quorum,
            "cosigners": cosignatures
                .iter()
                .map(|c| json!({"name": c.name, "timestamp": c.timestamp}))
                .collect::<Vec<_>>(),
        })),
        standing: None,
    })
}

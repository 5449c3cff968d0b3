//! `certlog-verify checkpoint`: a C2SP tlog-checkpoint signed by the log, and the C2SP
//! tlog-cosignature v1 cosignatures of witnesses.

use certlog_verifier::checkpoint::CheckpointError;
use certlog_verifier::key::KeyType;
use certlog_verifier::{Checkpoint, Note, SignedCheckpoint};
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

pub fn run(args: &Args) -> Result<Verified, Error> {
    let log_key = input::verifier_key("log-vkey", &args.log_vkey, KeyType::Ed25519)?;
    let mut witnesses = Vec::with_capacity(args.witness.len());
    for arg in &args.witness {
        let witness = input::verifier_key("witness", arg, KeyType::CosignatureV1)?;
        if witnesses.contains(&witness) {
            return Err(Error::Usage(format!("--witness {witness} is given twice")));
        }
        witnesses.push(witness);
    }
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        return Err(Error::Usage(format!(
            "--quorum {quorum} can never be met by {} witnesses",
            witnesses.len()
        )));
    }
    let bytes = input::read(&args.file)?;

    // The library checks the signatures before it reads the checkpoint lines; parsing first makes
    // a malformed checkpoint unreadable input (2) whoever signed it, never "not signed" (1).
    let note = Note::parse(&bytes).map_err(CheckpointError::Note)?;
    Checkpoint::parse(note.text())?;

    let signed = SignedCheckpoint::verify(&bytes, &log_key)?;
    let cosignatures = signed.verify_cosignatures(&witnesses, quorum)?;

    let Checkpoint {
        origin, size, root, ..
    } = &signed.checkpoint;
    Ok(Verified {
        summary: format!("checkpoint of {origin} at size {size} with root {root}"),
        details: cosignatures
            .iter()
            .map(|c| format!("cosigned by {} at {}", c.name, utc(c.timestamp)))
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
    })
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time, such as `2023-11-14T22:13:20Z`.
fn utc(seconds: u64) -> String {
    let (days, secs) = (seconds / 86_400, seconds % 86_400);
    // civil_from_days of H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", for days >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}

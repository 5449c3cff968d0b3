//! `certlog-verify evidence`: evidence that a log misbehaved, as `certlog audit` writes it,
//! checked offline with the log's key (see [`certlog_log::evidence`]).

use certlog_log::evidence::{self, EvidenceError, Misbehaviour};
use certlog_verifier::certificate::json::format_time;
use certlog_verifier::key::KeyType;
use serde_json::json;

use crate::{Error, Verified, input, json_fields};

/// Checks evidence that a log misbehaved (from `certlog audit`), offline, trusting only the
/// keys given here: never the auditor.
///
/// Evidence of a fork holds two checkpoints the log signed that no append-only tree can both
/// have: the same size with different roots, or a consistency proof from the larger tree's
/// hashes that gives its first leaves another root than the smaller checkpoint's. Evidence of a
/// rule violation (an entry the rules forbid, or a map head the entries contradict) holds every
/// entry up to the offending one, tied to the checkpoint by a consistency proof, and is
/// replayed with the operator's key given by --operator-vkey, which it requires. A leaf
/// mismatch (an entry the log served that is not its signed leaf) is the auditor's observation,
/// not proof: the log does not sign the bytes it serves, so the file cannot prove which bytes
/// the log served; it is never confirmed.
///
/// Exit status: 0 the evidence proves the misbehaviour; 1 it proves none (a leaf mismatch, a
/// checkpoint not signed by the log, a proof that does not verify, trees that are consistent,
/// entries that follow the rules); 2 usage error or unreadable input (a missing file, bytes that
/// are not certlog evidence, a bad key, rule-violation evidence without --operator-vkey).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The evidence file, or `-` for stdin.
    #[arg(value_name = "FILE")]
    file: String,

    /// The log's verifier key.
    #[arg(long, value_name = "VKEY")]
    log_vkey: String,

    /// The operator's verifier key, which the registry of a rule violation is checked with
    /// (required for rule-violation evidence: the key the evidence names is the auditor's).
    #[arg(long, value_name = "VKEY")]
    operator_vkey: Option<String>,
}

impl From<EvidenceError> for Error {
    /// Bytes that are not evidence are unreadable input, and rule-violation evidence without
    /// the operator's key a usage error; anything else (an observation only included) means
    /// the evidence proves no misbehaviour.
    fn from(err: EvidenceError) -> Error {
        match err {
            EvidenceError::OperatorKeyRequired => Error::Usage(
                "--operator-vkey is required to check rule-violation evidence: the registry is \
                 checked with the operator's key as you know it, never with the key the \
                 evidence names"
                    .into(),
            ),
            err => Error::classify(err.is_unreadable(), &err),
        }
    }
}

pub fn run(args: &Args) -> Result<Verified, Error> {
    let log_key = input::verifier_key("log-vkey", &args.log_vkey, KeyType::Ed25519)?;
    let operator = args
        .operator_vkey
        .as_deref()
        .map(|arg| input::verifier_key("operator-vkey", arg, KeyType::Ed25519))
        .transpose()?;
    let bytes = input::read(&args.file)?;
    let confirmed =
        evidence::check(&bytes, &log_key, operator.as_ref()).map_err(|e| match Error::from(e) {
            Error::Invalid(message) => {
                Error::Invalid(format!("the evidence proves no misbehaviour: {message}"))
            }
            usage => usage,
        })?;
    let c = &confirmed.checkpoint;
    let m = &confirmed.misbehaviour;
    let mut details = vec![format!(
        "proven against the checkpoint of {} at size {} with root {}",
        c.origin, c.size, c.root
    )];
    let mut fields = json!({
        "misbehaviour": m.kind(),
        "confirmed": m.to_string(),
        "origin": c.origin,
        "tree_size": c.size,
        "root": c.root.to_base64(),
        "description": confirmed.description,
        "source": confirmed.source,
    });
    if confirmed.found_at != 0 {
        let found = format_time(confirmed.found_at);
        details.push(format!("found by the auditor at {found}"));
        fields["found_at"] = found.into();
    }
    if let Misbehaviour::RuleViolation { operator, .. } = m {
        fields["operator_vkey"] = operator.clone().into();
    }
    Ok(Verified {
        summary: format!("misbehaviour confirmed: {m}"),
        details,
        fields: json_fields(fields),
        standing: None,
    })
}

//! `certlog-verify bundle`: a certlog proof bundle, checked offline: the certificate was issued
//! by a registered certifier, is in the log, and has the status the log's status map gives it.

use std::path::PathBuf;

use certlog_verifier::SignedCheckpoint;
use certlog_verifier::bundle::{self, BundleError, Options, Policy, Standing, TrustedTree};
use certlog_verifier::certificate::json::{format_time, now, parse_hex, parse_time};
use serde_json::json;

use crate::{Error, Verified, input, json_fields};

/// Checks a proof bundle (from `certlog bundle`) with only the log's key and witness keys.
///
/// It answers one question: the standing of the certificate named by `--scheme` and `--id`
/// (and `--certifier`, when given); a bundle for any other certificate does not verify. It
/// checks the checkpoint's signature and the witness quorum, the inclusion of the certificate
/// and of its certifier's registration, the certifier's signature, the map head's inclusion and
/// the status proof under it, the validity dates at `--now`, and optionally the map head's
/// freshness and a firmware digest the certificate must list as well.
///
/// Exit status: 0 valid and active; 3 valid but revoked, suspended, withdrawn, expired, not yet
/// valid or absent from the log; 1 does not verify; 2 usage error or unreadable input.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The proof bundle, or `-` for stdin.
    #[arg(value_name = "FILE")]
    file: String,

    #[command(flatten)]
    trust: input::TrustArgs,

    /// The scheme of the certificate asked about, byte for byte.
    #[arg(long, value_name = "SCHEME")]
    scheme: String,

    /// The ID of the certificate asked about, byte for byte.
    #[arg(long, value_name = "ID")]
    id: String,

    /// The certifier that must have issued it (its key name).
    #[arg(long, value_name = "NAME")]
    certifier: Option<String>,

    /// The oldest map head accepted, e.g. `24h` or `7days`: an older bundle may hide a
    /// revocation.
    #[arg(long, value_name = "DURATION")]
    max_age: Option<String>,

    /// The SHA-256 (hex) of a firmware image the certificate must list, besides being the
    /// certificate asked about.
    #[arg(long, value_name = "HEX")]
    firmware_sha256: Option<String>,

    /// The time to check at (RFC 3339) [default: the system clock].
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,

    /// A file keeping the last checkpoint trusted: the bundle's tree must extend it (a bundle
    /// from an older or another tree is refused), and it is updated after each bundle that
    /// verifies.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

impl From<BundleError> for Error {
    /// Within a bundle, everything that does not check out means the bundle does not verify,
    /// except bytes that are no bundle at all (unreadable input) and a log or witness key of
    /// the wrong type (a bad argument).
    fn from(err: BundleError) -> Error {
        use certlog_verifier::checkpoint::CheckpointError;
        use certlog_verifier::cosignature::CosignatureError;
        let bad_argument = matches!(
            &err,
            BundleError::Decode(_)
                | BundleError::Checkpoint(CheckpointError::Key(_))
                | BundleError::Cosignatures(CosignatureError::Key(_))
        );
        Error::classify(bad_argument, &err)
    }
}

/// The tree kept in the state file, checked against the log's key.
fn read_state(
    path: &PathBuf,
    log_key: &certlog_verifier::VerifierKey,
) -> Result<Option<TrustedTree>, Error> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Usage(format!(
                "reading the state {}: {e}",
                path.display()
            )));
        }
    };
    let signed = SignedCheckpoint::verify(&text, log_key).map_err(|e| {
        Error::Usage(format!(
            "the state {} is not a checkpoint of this log: {e}",
            path.display()
        ))
    })?;
    Ok(Some(TrustedTree {
        size: signed.checkpoint.size,
        root: signed.checkpoint.root,
    }))
}

/// Replaces the state file with a checkpoint, atomically.
fn write_state(path: &PathBuf, checkpoint: &SignedCheckpoint) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, checkpoint.to_text())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::Usage(format!("writing the state {}: {e}", path.display())))
}

pub fn run(args: &Args) -> Result<Verified, Error> {
    let trust = args.trust.read()?;
    let now = match &args.now {
        Some(t) => parse_time(t).map_err(|e| Error::Usage(format!("--now: {e}")))?,
        None => now(),
    };
    let max_age = args
        .max_age
        .as_deref()
        .map(|d| {
            humantime::parse_duration(d)
                .map(|d| d.as_secs())
                .map_err(|e| Error::Usage(format!("--max-age {d:?}: {e}")))
        })
        .transpose()?;
    let firmware_sha256 = args
        .firmware_sha256
        .as_deref()
        .map(|h| {
            parse_hex(h)
                .ok()
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .ok_or_else(|| {
                    Error::Usage(format!("--firmware-sha256 {h:?} is not 64 hex digits"))
                })
        })
        .transpose()?;
    let trusted = match &args.state {
        Some(path) => read_state(path, &trust.log_key)?,
        None => None,
    };
    let bytes = input::read(&args.file)?;
    let policy = Policy {
        log_key: &trust.log_key,
        witnesses: &trust.witnesses,
        quorum: trust.quorum,
    };
    let options = Options {
        now,
        max_age,
        firmware_sha256,
        trusted,
    };
    let expected = bundle::Expected {
        scheme: &args.scheme,
        certificate_id: &args.id,
        certifier: args.certifier.as_deref(),
    };
    let verified = bundle::verify_bundle(&bytes, &policy, &expected, &options)?;
    if let Some(path) = &args.state {
        write_state(path, &verified.checkpoint)?;
    }
    Ok(describe(&verified))
}

/// What the verified bundle says, for people and for JSON.
fn describe(v: &bundle::Verified) -> Verified {
    let c = &v.checkpoint.checkpoint;
    let mut details = vec![format!(
        "proven at checkpoint of {} size {} (map head of {})",
        c.origin,
        c.size,
        format_time(v.map_head.timestamp)
    )];
    details.extend(v.cosignatures.iter().map(|w| {
        format!(
            "cosigned by {} at {}",
            w.name,
            format_time(i64::try_from(w.timestamp).unwrap_or(i64::MAX))
        )
    }));
    let mut fields = json!({
        "status": v.standing.name(),
        "active": v.standing == Standing::Active,
        "tree_size": c.size,
        "root": c.root.to_base64(),
        "map_head_time": format_time(v.map_head.timestamp),
        "cosigners": v.cosignatures.iter().map(|w| json!({"name": w.name, "timestamp": w.timestamp})).collect::<Vec<_>>(),
    });
    let summary = match (&v.certificate, &v.record) {
        (Some(cert), Some(record)) => {
            let id = format!("{}/{}", cert.scheme, cert.certificate_id);
            let product = cert
                .product
                .as_ref()
                .map(|p| format!("{} {}", p.vendor, p.name))
                .unwrap_or_default();
            fields["scheme"] = cert.scheme.clone().into();
            fields["certificate_id"] = cert.certificate_id.clone().into();
            fields["product"] = product.clone().into();
            fields["certifier"] = record.certifier.clone().into();
            fields["entry_index"] = record.issued_index.into();
            fields["not_after"] = format_time(cert.not_after).into();
            match v.standing {
                Standing::Suspended | Standing::Revoked | Standing::Withdrawn => {
                    fields["reason"] = record.reason.clone().into();
                    fields["effective_at"] = format_time(record.effective_at).into();
                    fields["change_index"] = record.last_change_index.into();
                    fields["changed_by_operator"] = record.by_operator.into();
                    format!(
                        "{id} ({product}) was {} by {} effective {}: {} (entry {})",
                        v.standing.name(),
                        if record.by_operator {
                            "the log's operator"
                        } else {
                            &record.certifier
                        },
                        format_time(record.effective_at),
                        record.reason,
                        record.last_change_index
                    )
                }
                Standing::CertifierCompromised => {
                    let from = v
                        .certifier
                        .as_ref()
                        .and_then(|c| c.compromised_index)
                        .unwrap_or_default();
                    fields["reason"] = "certifier compromised".into();
                    fields["compromised_index"] = from.into();
                    format!(
                        "{id} ({product}) stands revoked: its certifier {} was retired as \
                         compromised from index {from}, and it was logged at index {}",
                        record.certifier, record.issued_index
                    )
                }
                Standing::Expired => format!(
                    "{id} ({product}) expired at {}",
                    format_time(cert.not_after)
                ),
                Standing::NotYetValid => {
                    format!(
                        "{id} ({product}) is not valid before {}",
                        format_time(cert.not_before)
                    )
                }
                _ => format!(
                    "{id} ({product}) issued by {} at index {}, valid until {}",
                    record.certifier,
                    record.issued_index,
                    format_time(cert.not_after)
                ),
            }
        }
        _ => {
            fields["scheme"] = v.scheme.clone().into();
            fields["certificate_id"] = v.certificate_id.clone().into();
            format!(
                "{}/{} is not in the log (proven absent from its status map)",
                v.scheme, v.certificate_id
            )
        }
    };
    Verified {
        summary,
        details,
        fields: json_fields(fields),
        standing: (v.standing != Standing::Active).then_some(v.standing.name()),
    }
}

//! `certlog revoke | suspend | reinstate | withdraw`: status changes, by the certificate's
//! issuer (`--key`) or by the log's operator (`--operator-key`), following the certificate's
//! current record, proven by its bundle (docs/trust.md).

use std::path::PathBuf;

use certlog_verifier::certificate::status_name;
use certlog_verifier::proto::CertificateStatus;

use crate::ChangedBy;

use super::{Context, Output, receipt_output, signing_key, time_or_now};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("signer").required(true).multiple(false)))]
pub struct Args {
    /// The certificate's scheme.
    #[arg(long)]
    scheme: String,
    /// The certificate's ID.
    #[arg(long)]
    id: String,
    /// Why (logged with the change).
    #[arg(long)]
    reason: String,
    /// The certifier's private key (the one that issued the certificate).
    #[arg(long, group = "signer")]
    key: Option<PathBuf>,
    /// The operator's private key: the operator may change any certificate's status, also
    /// after its issuer was retired; only the operator lifts a suspension it made.
    #[arg(long, group = "signer")]
    operator_key: Option<PathBuf>,
    /// When the change takes effect (RFC 3339); now by default.
    #[arg(long)]
    effective: Option<String>,
    /// Waits for the checkpoint that includes the entry and checks the inclusion proof.
    #[arg(long)]
    wait: bool,
}

pub async fn run(cx: &Context, args: Args, status: CertificateStatus) -> anyhow::Result<Output> {
    let (by, key_file) = match (&args.key, &args.operator_key) {
        (Some(key), _) => (ChangedBy::Certifier, key),
        (None, Some(key)) => (ChangedBy::Operator, key),
        (None, None) => anyhow::bail!("--key or --operator-key is required"),
    };
    let key = signing_key(key_file)?;
    let effective_at = time_or_now(args.effective.as_deref())?;
    let mut client = cx.connect().await?;
    // The statement follows the current record: only a proven one.
    let proven = client.proven_status(&args.scheme, &args.id).await?;
    let Some(current) = proven.record else {
        anyhow::bail!(
            "{}/{} is not in the log (proven absent from its status map)",
            args.scheme,
            args.id
        );
    };
    let entry = crate::change_status(&key, by, &current, status, &args.reason, effective_at)?;
    let receipt = match by {
        ChangedBy::Certifier => client.submit(entry, args.wait).await?,
        ChangedBy::Operator => client.operator_change_status(entry, args.wait).await?,
    };
    let what = format!(
        "certificate {}/{} {}{}",
        args.scheme,
        args.id,
        status_name(status),
        if by == ChangedBy::Operator {
            " by the operator"
        } else {
            ""
        }
    );
    Ok(receipt_output(&what, &receipt))
}

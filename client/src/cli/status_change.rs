//! `certlog revoke | suspend | reinstate | withdraw`: status changes, following the
//! certificate's current record in the log.

use std::path::PathBuf;

use certlog_verifier::certificate::status_name;
use certlog_verifier::proto::CertificateStatus;

use super::{Context, Output, receipt_output, signing_key, time_or_now};

#[derive(clap::Args)]
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
    #[arg(long)]
    key: PathBuf,
    /// When the change takes effect (RFC 3339); now by default.
    #[arg(long)]
    effective: Option<String>,
    /// Waits for the checkpoint that includes the entry and checks the inclusion proof.
    #[arg(long)]
    wait: bool,
}

pub async fn run(cx: &Context, args: Args, status: CertificateStatus) -> anyhow::Result<Output> {
    let key = signing_key(&args.key)?;
    let effective_at = time_or_now(args.effective.as_deref())?;
    let mut client = cx.connect().await?;
    let (current, _) = client.status(&args.scheme, &args.id).await?;
    let entry = crate::change_status(&key, &current, status, &args.reason, effective_at)?;
    let receipt = client.submit(entry, args.wait).await?;
    let what = format!(
        "certificate {}/{} {}",
        args.scheme,
        args.id,
        status_name(status)
    );
    Ok(receipt_output(&what, &receipt))
}

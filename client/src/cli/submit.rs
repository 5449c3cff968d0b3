//! `certlog submit FILE.json`: publishes a certificate.

use std::path::PathBuf;

use anyhow::Context as _;
use certlog_verifier::proto::Certificate;

use super::{Context, Output, receipt_output, signing_key};

#[derive(clap::Args)]
pub struct Args {
    /// The certificate, in JSON (see examples/).
    file: PathBuf,
    /// The certifier's private key.
    #[arg(long)]
    key: PathBuf,
    /// Waits for the checkpoint that includes the entry and checks the inclusion proof.
    #[arg(long)]
    wait: bool,
}

/// Reads a certificate from its JSON form.
pub fn read_certificate(path: &std::path::Path) -> anyhow::Result<Certificate> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a certificate", path.display()))
}

pub async fn run(cx: &Context, args: Args) -> anyhow::Result<Output> {
    let certificate = read_certificate(&args.file)?;
    let key = signing_key(&args.key)?;
    let what = format!(
        "certificate {}/{}",
        certificate.scheme, certificate.certificate_id
    );
    let entry = crate::issue_certificate(&key, certificate)
        .with_context(|| format!("{} cannot be published", args.file.display()))?;
    let receipt = cx.connect().await?.submit(entry, args.wait).await?;
    Ok(receipt_output(&format!("{what} logged"), &receipt))
}

//! `certlog bundle`: the proof bundle of a certificate, for `certlog-verify bundle` on a device
//! or a buyer's machine; or the C2SP tlog-proof of its issuing entry, for other tools.

use std::path::PathBuf;

use crate::BundleFor;
use anyhow::{Context as _, bail};
use certlog_log::tlog_proof::TlogProof;
use prost::Message as _;
use serde_json::json;

use super::{Context, Output};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    /// certlog's ProofBundle (protobuf): inclusion, certifier, status, for certlog-verify.
    Bundle,
    /// C2SP tlog-proof text: the issuing entry's inclusion proof and checkpoint.
    TlogProof,
}

#[derive(clap::Args)]
pub struct Args {
    /// The certificate's scheme.
    #[arg(long, requires = "id", conflicts_with = "firmware_sha256")]
    scheme: Option<String>,
    /// The certificate's ID.
    #[arg(long, requires = "scheme")]
    id: Option<String>,
    /// Instead: the certificate that lists this firmware SHA-256 (hex).
    #[arg(long, value_name = "HEX")]
    firmware_sha256: Option<String>,
    /// Adds the consistency proof from this tree size (the one a device trusts).
    #[arg(long, value_name = "N", default_value_t = 0)]
    since: u64,
    /// What to write.
    #[arg(long, value_enum, default_value = "bundle")]
    format: Format,
    /// Where to write it.
    #[arg(long)]
    out: PathBuf,
}

pub async fn run(cx: &Context, args: Args) -> anyhow::Result<Output> {
    let target = match (args.scheme, args.id, &args.firmware_sha256) {
        (Some(scheme), Some(certificate_id), None) => BundleFor::Id {
            scheme,
            certificate_id,
        },
        (None, None, Some(hex)) => {
            let digest = certlog_verifier::certificate::json::parse_hex(hex)
                .ok()
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .with_context(|| format!("--firmware-sha256 {hex:?} is not 64 hex digits"))?;
            BundleFor::Firmware(digest)
        }
        _ => bail!("give --scheme and --id, or --firmware-sha256"),
    };
    let mut client = cx.connect().await?;
    let bundle = client.bundle(target, args.since).await?;
    let bytes = match args.format {
        Format::Bundle => bundle.encode_to_vec(),
        Format::TlogProof => {
            if bundle.entry.is_empty() {
                bail!(
                    "{}/{} is not in the log: there is no inclusion to prove",
                    bundle.scheme,
                    bundle.certificate_id
                );
            }
            // A bundle proves its entry through the status map; a tlog-proof, for tools that
            // know only the tree, carries the entry's inclusion proof in the bundle's tree.
            let size = bundle.map_head_index + 1;
            let proof = client
                .inclusion_proof(Ok(bundle.entry_index), size)
                .await?
                .proof;
            TlogProof {
                extra: None,
                index: bundle.entry_index,
                proof,
                checkpoint: bundle.checkpoint.clone(),
            }
            .to_text()
            .into_bytes()
        }
    };
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let present = !bundle.entry.is_empty();
    let text = format!(
        "wrote the {} of {}/{} ({}) to {}: {} bytes\n",
        match args.format {
            Format::Bundle => "proof bundle",
            Format::TlogProof => "tlog-proof",
        },
        bundle.scheme,
        bundle.certificate_id,
        if present {
            "in the log"
        } else {
            "absent from the log"
        },
        args.out.display(),
        bytes.len()
    );
    let json = json!({
        "scheme": bundle.scheme, "certificate_id": bundle.certificate_id, "in_log": present,
        "entry_index": present.then_some(bundle.entry_index), "bytes": bytes.len(),
        "out": args.out,
    });
    Ok(Output { text, json })
}

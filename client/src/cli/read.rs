//! Reading the log: `status`, `get`, `prove`, `checkpoint`.

use std::path::PathBuf;

use crate::ClientError;
use anyhow::Context as _;
use certlog_verifier::certificate::{json::format_time, status_name};
use certlog_verifier::entry;
use certlog_verifier::proto::{entry::Body, statement};
use serde_json::json;

use super::{Context, Output};

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The certificate's scheme.
    #[arg(long)]
    scheme: String,
    /// The certificate's ID.
    #[arg(long)]
    id: String,
}

pub async fn status(cx: &Context, args: StatusArgs) -> anyhow::Result<Output> {
    let mut client = cx.connect().await?;
    // Proven whenever the log's key is known; the log's bare word only without it, and said so.
    let (record, proven_at) = match client.proven_status(&args.scheme, &args.id).await {
        Ok(verified) => {
            let size = verified.checkpoint.checkpoint.size;
            match verified.record {
                Some(record) => (record, Some(size)),
                None => anyhow::bail!(
                    "{}/{} is not in the log (proven absent from its status map at tree size {size})",
                    args.scheme,
                    args.id
                ),
            }
        }
        Err(ClientError::NoLogKey(_)) => (client.status(&args.scheme, &args.id).await?.0, None),
        Err(e) => return Err(e.into()),
    };
    let (_, indexes) = client.status(&args.scheme, &args.id).await?;
    let r = record;
    let status = status_name(r.status());
    let by = if r.by_operator {
        "the operator".to_string()
    } else {
        r.certifier.clone()
    };
    let mut text = format!(
        "{}/{}: {status}\ncertifier {}\nissued at index {}\n",
        r.scheme, r.certificate_id, r.certifier, r.issued_index
    );
    if r.last_change_index != r.issued_index {
        text.push_str(&format!(
            "last change at index {} by {by}, effective {}: {}\n",
            r.last_change_index,
            format_time(r.effective_at),
            r.reason
        ));
    }
    text.push_str(&match proven_at {
        Some(size) => format!("proven against the log's checkpoint of size {size}\n"),
        None => "unproven: the log's word only (set --log-vkey or CERTLOG_LOG_VKEY to check it)\n"
            .to_string(),
    });
    let json = json!({
        "scheme": r.scheme, "certificate_id": r.certificate_id, "status": status,
        "certifier": r.certifier, "issued_index": r.issued_index,
        "last_change_index": r.last_change_index, "reason": r.reason,
        "changed_by_operator": r.by_operator,
        "effective_at": (r.effective_at != 0).then(|| format_time(r.effective_at)),
        "entry_indexes": indexes, "proven_at_size": proven_at,
    });
    Ok(Output { text, json })
}

#[derive(clap::Args)]
pub struct GetArgs {
    /// The entry's index.
    #[arg(long)]
    index: u64,
    /// Also writes the entry's exact bytes to this file (for certlog-verify --entry-file).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// An entry as JSON: its kind, signer and statement.
fn describe(bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    let decoded = entry::decode_entry(bytes)?;
    Ok(match &decoded.body {
        Some(Body::MapHead(head)) => json!({
            "kind": "map_head", "tree_size": head.tree_size,
            "root": hex_or_b64(&head.root), "timestamp": format_time(head.timestamp),
        }),
        Some(Body::SignedStatement(signed)) => {
            let statement = entry::decode_statement(signed)?;
            let (kind, body) = match statement.body {
                Some(statement::Body::CertificateIssued(c)) => {
                    ("certificate_issued", serde_json::to_value(c)?)
                }
                Some(
                    ref body @ (statement::Body::StatusChanged(ref c)
                    | statement::Body::OperatorStatusChanged(ref c)),
                ) => (
                    match body {
                        statement::Body::OperatorStatusChanged(_) => "operator_status_changed",
                        _ => "status_changed",
                    },
                    json!({
                        "scheme": c.scheme, "certificate_id": c.certificate_id,
                        "issued_index": c.issued_index, "previous_index": c.previous_index,
                        "status": status_name(c.status()), "reason": c.reason,
                        "effective_at": format_time(c.effective_at),
                    }),
                ),
                Some(statement::Body::CertifierRegistered(r)) => (
                    "certifier_registered",
                    json!({
                        "vkey": r.vkey, "schemes": r.schemes, "registered_at": format_time(r.registered_at),
                    }),
                ),
                Some(statement::Body::CertifierRetired(r)) => (
                    "certifier_retired",
                    json!({
                        "name": r.name, "reason": r.reason, "retired_at": format_time(r.retired_at),
                        "compromised_since": (r.compromised_since != 0).then(|| format_time(r.compromised_since)),
                    }),
                ),
                Some(statement::Body::CertifierKeyRotated(r)) => (
                    "certifier_key_rotated",
                    json!({
                        "vkey": r.vkey, "reason": r.reason, "rotated_at": format_time(r.rotated_at),
                    }),
                ),
                None => ("empty", json!(null)),
            };
            json!({ "kind": kind, "signer": signed.signer, "key_id": format!("{:08x}", signed.key_id), "statement": body })
        }
        None => json!({ "kind": "empty" }),
    })
}

fn hex_or_b64(bytes: &[u8]) -> String {
    certlog_verifier::Hash::from_slice(bytes).map_or_else(|| hex_string(bytes), |h| h.to_base64())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn get(cx: &Context, args: GetArgs) -> anyhow::Result<Output> {
    let end = args
        .index
        .checked_add(1)
        .with_context(|| format!("--index {} is beyond any tree size", args.index))?;
    let mut entries = cx.connect().await?.entries(args.index, end).await?;
    let bytes = entries.pop().context("the log sent no entry")?;
    if let Some(out) = &args.out {
        std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    let mut json = describe(&bytes)?;
    json["index"] = args.index.into();
    json["leaf_hash"] = certlog_verifier::merkle::leaf_hash(&bytes)
        .to_base64()
        .into();
    let text = serde_json::to_string_pretty(&json)?;
    Ok(Output { text, json })
}

#[derive(clap::Args)]
pub struct ProveArgs {
    /// The entry's index.
    #[arg(long)]
    index: u64,
    /// The tree size to prove against; the latest checkpoint's by default.
    #[arg(long)]
    size: Option<u64>,
}

pub async fn prove(cx: &Context, args: ProveArgs) -> anyhow::Result<Output> {
    let p = cx
        .connect()
        .await?
        .inclusion_proof(Ok(args.index), args.size.unwrap_or(0))
        .await?;
    let proof: Vec<String> = p.proof.iter().map(|h| h.to_base64()).collect();
    let root = p.checkpoint.as_ref().map(|c| c.checkpoint.root.to_base64());
    let mut text = format!(
        "index {}\ntree size {}\nleaf hash {}\n",
        p.index, p.tree_size, p.leaf_hash
    );
    if let Some(root) = &root {
        text.push_str(&format!("root {root}\n"));
    }
    text.push_str(&format!("proof {}\n", proof.join(",")));
    text.push_str(&format!(
        "\ncertlog-verify inclusion --leaf-hash {} --index {} --size {} --root {} --proof '{}'\n",
        p.leaf_hash,
        p.index,
        p.tree_size,
        root.as_deref().unwrap_or("ROOT"),
        proof.join(",")
    ));
    let json = json!({
        "index": p.index, "tree_size": p.tree_size, "leaf_hash": p.leaf_hash.to_base64(),
        "root": root, "proof": proof,
        "checkpoint": p.checkpoint.map(|c| c.to_text()),
    });
    Ok(Output { text, json })
}

#[derive(clap::Args)]
pub struct CheckpointArgs {
    /// A past checkpoint of this tree size; the latest by default.
    #[arg(long)]
    size: Option<u64>,
}

pub async fn checkpoint(cx: &Context, args: CheckpointArgs) -> anyhow::Result<Output> {
    let signed = cx
        .connect()
        .await?
        .checkpoint(args.size.unwrap_or(0))
        .await?;
    let c = &signed.checkpoint;
    Ok(Output {
        text: signed.to_text(),
        json: json!({
            "origin": c.origin, "tree_size": c.size, "root": c.root.to_base64(),
            "checkpoint": signed.to_text(), "verified": cx.log_vkey.is_some(),
        }),
    })
}

//! `certlog certifier register | rotate | retire`: the operator's registry of certifiers
//! (docs/trust.md "When a certifier's key is lost or stolen").

use std::path::PathBuf;

use anyhow::bail;
use certlog_log::key_file;

use super::{Context, Output, receipt_output, signing_key, time_or_now};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Allows a certifier's key to publish under some schemes.
    Register {
        /// The operator's private key, kept off the log server (the operator.key a log's first
        /// start made in its DIR without --operator-vkey, moved elsewhere).
        #[arg(long)]
        operator_key: PathBuf,
        /// The certifier's name: the name of its key.
        #[arg(long)]
        name: String,
        /// The certifier's verifier key (or @FILE, or a file holding it).
        #[arg(long)]
        vkey: String,
        /// A scheme it may publish under (repeat for several).
        #[arg(long = "scheme")]
        schemes: Vec<String>,
        /// Waits for the checkpoint that includes the entry.
        #[arg(long)]
        wait: bool,
    },
    /// Retires a certifier for good: its key can publish nothing more.
    Retire {
        /// The operator's private key.
        #[arg(long)]
        operator_key: PathBuf,
        /// The certifier's name.
        #[arg(long)]
        name: String,
        /// Why.
        #[arg(long, default_value = "retired by the operator")]
        reason: String,
        /// When its key was compromised (RFC 3339): every certificate it logged in a batch of
        /// that time or later stands revoked, and every status change it signed from then on
        /// is void. The log's own time decides, not the certificates' dates.
        #[arg(long, value_name = "RFC3339")]
        compromised_since: Option<String>,
        /// Waits for the checkpoint that includes the entry.
        #[arg(long)]
        wait: bool,
    },
    /// Gives a certifier a new key, from this entry on: what it signed before stays valid and
    /// is changed with the new key.
    Rotate {
        /// The operator's private key.
        #[arg(long)]
        operator_key: PathBuf,
        /// The certifier's name.
        #[arg(long)]
        name: String,
        /// The certifier's new verifier key (or @FILE, or a file holding it), with its name.
        #[arg(long)]
        vkey: String,
        /// Why.
        #[arg(long, default_value = "key rotated by the operator")]
        reason: String,
        /// Waits for the checkpoint that includes the entry.
        #[arg(long)]
        wait: bool,
    },
}

pub async fn run(cx: &Context, command: Command) -> anyhow::Result<Output> {
    match command {
        Command::Register {
            operator_key,
            name,
            vkey,
            schemes,
            wait,
        } => {
            let operator = signing_key(&operator_key)?;
            let vkey = key_file::verifier_key_arg(&vkey)?;
            if vkey.name() != name {
                bail!("the verifier key is named {:?}, not {name:?}", vkey.name());
            }
            if schemes.is_empty() {
                bail!("give at least one --scheme the certifier may publish under");
            }
            let entry = crate::register_certifier(&operator, &vkey, schemes, time_or_now(None)?)?;
            let receipt = cx.connect().await?.register_certifier(entry, wait).await?;
            Ok(receipt_output(
                &format!("certifier {name} registered"),
                &receipt,
            ))
        }
        Command::Retire {
            operator_key,
            name,
            reason,
            compromised_since,
            wait,
        } => {
            let operator = signing_key(&operator_key)?;
            let compromised_since = compromised_since
                .as_deref()
                .map(|t| time_or_now(Some(t)))
                .transpose()?;
            let now = time_or_now(None)?;
            let entry = crate::retire_certifier(&operator, &name, &reason, compromised_since, now)?;
            let receipt = cx.connect().await?.retire_certifier(entry, wait).await?;
            Ok(receipt_output(
                &format!("certifier {name} retired"),
                &receipt,
            ))
        }
        Command::Rotate {
            operator_key,
            name,
            vkey,
            reason,
            wait,
        } => {
            let operator = signing_key(&operator_key)?;
            let vkey = key_file::verifier_key_arg(&vkey)?;
            if vkey.name() != name {
                bail!("the verifier key is named {:?}, not {name:?}", vkey.name());
            }
            let entry = crate::rotate_certifier_key(&operator, &vkey, &reason, time_or_now(None)?)?;
            let receipt = cx
                .connect()
                .await?
                .rotate_certifier_key(entry, wait)
                .await?;
            Ok(receipt_output(
                &format!("certifier {name} has a new key"),
                &receipt,
            ))
        }
    }
}

//! `certlog certifier register | retire`: the operator's registry of certifiers.

use std::path::PathBuf;

use anyhow::bail;
use certlog_verifier::key_file;

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
            wait,
        } => {
            let operator = signing_key(&operator_key)?;
            let entry = crate::retire_certifier(&operator, &name, &reason, time_or_now(None)?)?;
            let receipt = cx.connect().await?.retire_certifier(entry, wait).await?;
            Ok(receipt_output(
                &format!("certifier {name} retired"),
                &receipt,
            ))
        }
    }
}

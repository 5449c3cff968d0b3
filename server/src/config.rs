//! The settings of `certlogd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cosigner::{CosignerConfig, WitnessArg};
use crate::sequencer::BatchConfig;
use crate::storage::Backend;

/// How to run a log.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// The data directory: the database and the keys (created on first start).
    #[arg(long, default_value = "certlog-data")]
    pub data: PathBuf,
    /// The address that serves gRPC and HTTP.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// The embedded database.
    #[arg(long, value_enum, default_value = "redb")]
    pub storage: Backend,
    /// The log's origin, the name in its checkpoints (set when the log is created).
    #[arg(long, default_value = "certlog.local/log")]
    pub origin: String,
    /// The most entries integrated in one batch (one flush, one checkpoint).
    #[arg(long, default_value_t = 1024)]
    pub batch_max: usize,
    /// How long a batch waits for more entries after its first, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub batch_interval: u64,
    /// Submissions that may wait for the sequencer before new ones are refused.
    #[arg(long, default_value_t = 16_384)]
    pub queue: usize,
    /// A witness that cosigns the log's checkpoints (C2SP tlog-witness), as URL=VKEY with the
    /// witness's verifier key or a file holding it; repeat for several.
    #[arg(long = "witness", value_name = "URL=VKEY")]
    pub witnesses: Vec<WitnessArg>,
    /// How many witnesses must cosign a checkpoint before it is published [default: all].
    #[arg(long)]
    pub witness_quorum: Option<usize>,
    /// How long one request to a witness may take, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub witness_timeout: u64,
    /// Logs as JSON lines.
    #[arg(long)]
    pub log_json: bool,
}

impl ServeArgs {
    /// The sequencer's batching.
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            max_entries: self.batch_max.max(1),
            interval: Duration::from_millis(self.batch_interval),
            queue: self.queue.max(1),
        }
    }

    /// The witnesses; a quorum that can never be met is refused.
    pub fn cosigner_config(&self) -> Result<CosignerConfig, String> {
        let quorum = self.witness_quorum.unwrap_or(self.witnesses.len());
        if quorum > self.witnesses.len() {
            return Err(format!(
                "--witness-quorum {quorum} can never be met by {} witnesses",
                self.witnesses.len()
            ));
        }
        Ok(CosignerConfig {
            witnesses: self.witnesses.clone(),
            quorum,
            timeout: Duration::from_millis(self.witness_timeout.max(1)),
        })
    }
}

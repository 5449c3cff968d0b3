//! The settings of `certlogd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
}

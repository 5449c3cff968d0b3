//! The log's Prometheus metrics, served on `GET /metrics` in the text exposition format.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The label of a refused request: the gRPC code's name, in snake case.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// e.g. `permission_denied`, `resource_exhausted`.
    pub reason: String,
}

/// The label of a witness request's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessOutcome {
    /// The witness's key name.
    pub witness: String,
    /// `cosigned` or `failed`.
    pub outcome: &'static str,
}

/// Every metric the log keeps; counters are atomic, so one instance is shared by all.
pub struct Metrics {
    registry: Mutex<Registry>,
    entries: Counter,
    batch_entries: Histogram,
    integration_seconds: Histogram,
    tree_size: Gauge<u64, AtomicU64>,
    rejected: Family<Reason, Counter>,
    witness_requests: Family<WitnessOutcome, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let metrics = Metrics {
            registry: Mutex::new(Registry::with_prefix("certlog")),
            entries: Counter::default(),
            // 1 to 4096 entries.
            batch_entries: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            // 0.5 ms to about 4 s.
            integration_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            tree_size: Gauge::default(),
            rejected: Family::default(),
            witness_requests: Family::default(),
        };
        {
            let mut r = metrics.lock();
            r.register(
                "entries_appended",
                "Entries appended to the log, map heads included",
                metrics.entries.clone(),
            );
            r.register(
                "batch_entries",
                "Entries integrated per batch (one commit, one checkpoint)",
                metrics.batch_entries.clone(),
            );
            r.register(
                "integration_seconds",
                "Time from a submission's arrival to its inclusion in a durable, signed checkpoint",
                metrics.integration_seconds.clone(),
            );
            r.register(
                "tree_size",
                "Size of the latest signed tree",
                metrics.tree_size.clone(),
            );
            r.register(
                "rejected_submissions",
                "Submissions refused, by reason",
                metrics.rejected.clone(),
            );
            r.register(
                "witness_requests",
                "Cosigning requests to witnesses, by witness and outcome",
                metrics.witness_requests.clone(),
            );
        }
        metrics
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A batch of `entries` was committed; the tree now has `size` entries.
    pub fn batch(&self, entries: u64, size: u64) {
        self.entries.inc_by(entries);
        // Lossless up to 2^53 entries.
        self.batch_entries.observe(entries as f64);
        self.tree_size.set(size);
    }

    /// The tree size the log started with.
    pub fn started(&self, size: u64) {
        self.tree_size.set(size);
    }

    /// A submission was acknowledged after `latency`.
    pub fn integrated(&self, latency: Duration) {
        self.integration_seconds.observe(latency.as_secs_f64());
    }

    /// A submission was refused.
    pub fn rejected(&self, reason: &str) {
        self.rejected
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A witness answered a cosigning request (or did not).
    pub fn witness(&self, witness: &str, cosigned: bool) {
        self.witness_requests
            .get_or_create(&WitnessOutcome {
                witness: witness.to_owned(),
                outcome: if cosigned { "cosigned" } else { "failed" },
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.lock()) {
            tracing::error!(error = %e, "encoding the metrics");
        }
        text
    }
}

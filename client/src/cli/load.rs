//! `certlog load`: a load generator. Signs `--count` distinct certificates first, then submits
//! them with `--concurrency` requests in flight (one entry per `Submit`, or `--batch` entries per
//! `SubmitBatch`) and reports throughput and the latency to a durable acknowledgement (which, in
//! certlog, is also inclusion in a signed checkpoint: the log answers only after the batch's
//! checkpoint is signed and stored). `--read` measures reads instead (see [`super::load_read`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Client;
use anyhow::Context as _;
use certlog_verifier::SigningKey;
use certlog_verifier::certificate::json::now;
use certlog_verifier::proto::{Certificate, Product};
use serde_json::json;

use super::{Context, Output, signing_key};

#[derive(clap::Args)]
pub struct Args {
    /// The certifier's private key (registered for --scheme).
    #[arg(long, required_unless_present = "read")]
    key: Option<std::path::PathBuf>,
    /// The scheme of the certificates.
    #[arg(long, required_unless_present = "read")]
    scheme: Option<String>,
    /// How many certificates to submit (with --read: operations of each kind).
    #[arg(long, default_value_t = 10_000)]
    pub(super) count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub(super) concurrency: usize,
    /// gRPC connections to spread the requests over.
    #[arg(long, default_value_t = 4)]
    pub(super) connections: usize,
    /// Entries per request: 1 sends each with Submit, more sends them with SubmitBatch (at
    /// most 1024).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch: u16,
    /// Measures reads of an existing log instead: inclusion proofs and status lookups over
    /// gRPC, hash tiles and entry bundles over HTTP, --count of each.
    #[arg(long, conflicts_with_all = ["key", "scheme", "batch"])]
    read: bool,
    /// Sends at this many entries a second (open loop: each request leaves at its scheduled
    /// time, and latency counts from then, so a slow log cannot hide its delays by slowing the
    /// sender); 0 sends as fast as --concurrency allows.
    #[arg(long, default_value_t = 0, conflicts_with = "read")]
    pub(super) rate: u32,
    /// With --read: runs each kind for this long (e.g. 10s) rather than --count operations.
    #[arg(long, requires = "read", value_parser = humantime::parse_duration)]
    pub(super) duration: Option<Duration>,
}

/// `count` distinct certificates, signed, using every core.
fn sign_all(key: &SigningKey, scheme: &str, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let run = now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..count)
            .step_by(per_thread)
            .map(|start| {
                s.spawn(move || {
                    (start..count.min(start + per_thread))
                        .map(|i| {
                            let certificate = Certificate {
                                scheme: scheme.into(),
                                certificate_id: format!("LOAD-{run}-{i:09}"),
                                product: Some(Product {
                                    vendor: "certlog load".into(),
                                    name: format!("device {i}"),
                                    firmware_version: "1.0.0".into(),
                                    ..Product::default()
                                }),
                                issued_at: run,
                                not_after: run + 365 * 86_400,
                                ..Certificate::default()
                            };
                            crate::issue_certificate(key, certificate)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut entries = Vec::with_capacity(count);
        for w in workers {
            let part = w
                .join()
                .map_err(|_| anyhow::anyhow!("a signing thread panicked"))??;
            entries.extend(part);
        }
        Ok(entries)
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The p50, p99 and maximum of some latencies, in milliseconds; sorts them.
pub(super) fn summary(latencies: &mut [Duration]) -> (f64, f64, f64) {
    latencies.sort();
    (
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        percentile(latencies, 1.0),
    )
}

/// `connections` connections to the log.
pub(super) async fn connect_all(cx: &Context, connections: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        clients.push(cx.connect().await?);
    }
    Ok(clients)
}

/// Sends `entries` (one `Submit`, or one `SubmitBatch` of several); returns how many the log
/// acknowledged and the errors, one per entry refused (or per entry of a failed call).
async fn send(client: &mut Client, entries: &[Vec<u8>]) -> (usize, Vec<String>) {
    if let [entry] = entries {
        return match client.submit(entry.clone(), false).await {
            Ok(_) => (1, Vec::new()),
            Err(e) => (0, vec![e.to_string()]),
        };
    }
    match client.submit_batch(entries.to_vec()).await {
        Ok(results) => {
            let errors: Vec<String> = results
                .iter()
                .filter_map(|r| r.as_ref().err().map(ToString::to_string))
                .collect();
            (results.len() - errors.len(), errors)
        }
        Err(e) => (0, vec![e.to_string(); entries.len()]),
    }
}

pub async fn run(cx: &Context, args: Args) -> anyhow::Result<Output> {
    let (Some(key), Some(scheme)) = (&args.key, &args.scheme) else {
        return super::load_read::run(cx, &args).await;
    };
    let key = signing_key(key)?;
    let signing_started = Instant::now();
    let entries = Arc::new(sign_all(&key, scheme, args.count)?);
    let signing = signing_started.elapsed();
    let batch = usize::from(args.batch);

    let mut clients = connect_all(cx, args.connections).await?;
    let size_before = clients[0].checkpoint(0).await?.checkpoint.size;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    // With --rate, when the request starting at entry i is due.
    let rate = args.rate;
    let due = move |i: usize| {
        (rate > 0).then(|| started + Duration::from_secs_f64(i as f64 / f64::from(rate)))
    };
    let mut tasks = Vec::new();
    for task in 0..args.concurrency.max(1) {
        let mut client: Client = clients[task % clients.len()].clone();
        let (entries, next) = (entries.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(batch, Ordering::Relaxed);
                let Some(chunk) = entries.get(i..entries.len().min(i + batch)) else {
                    break;
                };
                if chunk.is_empty() {
                    break;
                }
                let t = match due(i) {
                    Some(due) => {
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let (acknowledged, refused) = send(&mut client, chunk).await;
                // Every entry of a call is acknowledged when the call returns.
                latencies.extend(std::iter::repeat_n(t.elapsed(), acknowledged));
                errors.extend(refused);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(args.count);
    let mut errors = Vec::new();
    for task in tasks {
        let (l, e) = task.await.context("a load task failed")?;
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed();
    let size_after = clients[0].checkpoint(0).await?.checkpoint.size;
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = summary(&mut latencies);
    let mut how = if batch == 1 {
        "one entry per Submit".to_string()
    } else {
        format!("{batch} entries per SubmitBatch")
    };
    if args.rate > 0 {
        how.push_str(&format!(", sent at {} a second", args.rate));
    }
    let text = format!(
        "signed {} certificates in {:.1} s\n\
         submitted {} ({how}) in {:.2} s: {:.0} durable appends/s, {} errors\n\
         latency to a durable acknowledgement:            p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms\n\
         latency to inclusion in a signed checkpoint:     p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms\n\
         (the same figures: the log acknowledges an entry only once the checkpoint that includes it is signed and stored)\n\
         tree size {size_before} -> {size_after}\n{}",
        args.count,
        signing.as_secs_f64(),
        latencies.len(),
        elapsed.as_secs_f64(),
        rate,
        errors.len(),
        errors
            .first()
            .map(|e| format!("first error: {e}\n"))
            .unwrap_or_default(),
    );
    let json = json!({
        "count": args.count, "concurrency": args.concurrency, "connections": args.connections,
        "batch": batch, "rate": args.rate, "acknowledged": latencies.len(),
        "errors": errors.len(), "first_error": errors.first(),
        "seconds": elapsed.as_secs_f64(), "appends_per_second": rate,
        "latency_ms": { "p50": p50, "p99": p99, "max": max },
        // In certlog an acknowledgement comes only once the entry's checkpoint is signed and
        // stored: the same figures.
        "checkpoint_inclusion_latency_ms": { "p50": p50, "p99": p99, "max": max },
        "signing_seconds": signing.as_secs_f64(),
        "tree_size_before": size_before, "tree_size_after": size_after,
    });
    Ok(Output { text, json })
}

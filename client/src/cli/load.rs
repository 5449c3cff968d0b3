//! `certlog load`: a load generator. Signs `--count` distinct certificates first, then submits
//! them with `--concurrency` requests in flight and reports throughput and the latency to a
//! durable acknowledgement (which, in certlog, is also inclusion in a signed checkpoint: the
//! log answers only after the batch's checkpoint is signed and stored).

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
    #[arg(long)]
    key: std::path::PathBuf,
    /// The scheme of the certificates.
    #[arg(long)]
    scheme: String,
    /// How many certificates to submit.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// gRPC connections to spread the requests over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
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

pub async fn run(cx: &Context, args: Args) -> anyhow::Result<Output> {
    let key = signing_key(&args.key)?;
    let signing_started = Instant::now();
    let entries = Arc::new(sign_all(&key, &args.scheme, args.count)?);
    let signing = signing_started.elapsed();

    let mut clients = Vec::new();
    for _ in 0..args.connections.max(1) {
        clients.push(cx.connect().await?);
    }
    let size_before = clients[0].checkpoint(0).await?.checkpoint.size;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..args.concurrency.max(1) {
        let mut client: Client = clients[task % clients.len()].clone();
        let (entries, next) = (entries.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = entries.get(i) else { break };
                let t = Instant::now();
                match client.submit(entry.clone(), false).await {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(e) => errors.push(e.to_string()),
                }
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
    latencies.sort();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    let text = format!(
        "signed {} certificates in {:.1} s\n\
         submitted {} in {:.2} s: {:.0} durable appends/s, {} errors\n\
         latency to a durable, checkpointed acknowledgement: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms\n\
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
        "count": args.count, "concurrency": args.concurrency, "acknowledged": latencies.len(),
        "errors": errors.len(), "first_error": errors.first(),
        "seconds": elapsed.as_secs_f64(), "appends_per_second": rate,
        "latency_ms": { "p50": p50, "p99": p99, "max": max },
        "tree_size_before": size_before, "tree_size_after": size_after,
    });
    Ok(Output { text, json })
}

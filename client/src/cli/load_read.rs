//! `certlog load --read`: measures the reads of an existing log, one kind after the other, each
//! with `--concurrency` requests in flight for `--count` operations (or `--duration`):
//!
//! - inclusion proofs over gRPC (`GetInclusionProof` of a random index of the latest checkpoint,
//!   checked against that checkpoint's root, RFC 9162 2.1.3.2);
//! - status lookups over gRPC (`GetStatus` of certificates issued in the log, found first with
//!   `GetEntries`);
//! - tiles over HTTP (C2SP tlog-tiles: random full level-0 hash tiles), then entry bundles.
//!
//! gRPC requests are spread over `--connections` HTTP/2 connections; HTTP requests share one
//! connection pool.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use certlog_log::tiles::{TILE_WIDTH, TileId, TileLevel};
use certlog_verifier::entry;
use certlog_verifier::merkle;
use certlog_verifier::proto::statement::Body;
use serde_json::json;

use super::load::{Args, connect_all, summary};
use super::{Context, Output};
use crate::tiles::TileClient;

/// Certificates to look up are found in this many runs of entries, spread evenly over the
/// tree (lookups of only the latest certificates would find their records in memory)...
const ID_WINDOWS: u64 = 16;

/// ... of this many entries each.
const ID_WINDOW: u64 = 256;

/// What one kind of read measured.
struct Measured {
    /// `inclusion`, `status`, `tiles` or `bundles`.
    name: &'static str,
    /// For people.
    title: &'static str,
    latencies: Vec<Duration>,
    errors: Vec<String>,
    elapsed: Duration,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// A 64-bit mix of `x` (SplitMix64's finaliser): random enough to pick indexes, no state.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Runs `op(n)` for n = 0, 1, ... with `args.concurrency` in flight, until `args.count`
/// operations or `args.duration` have passed.
async fn measure<F, Fut>(
    args: &Args,
    name: &'static str,
    title: &'static str,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + d);
    let count = args.count as u64;
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (next, op) = (next.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), Vec::new());
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let done = match deadline {
                    Some(deadline) => Instant::now() >= deadline,
                    None => n >= count,
                };
                if done {
                    break;
                }
                let t = Instant::now();
                match op(n).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => errors.push(e),
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for task in tasks {
        let (l, e) = task.await.context("a load task failed")?;
        latencies.extend(l);
        errors.extend(e);
    }
    Ok(Measured {
        name,
        title,
        latencies,
        errors,
        elapsed: started.elapsed(),
    })
}

/// The runs of entries read to find certificates: [`ID_WINDOWS`] of [`ID_WINDOW`] entries,
/// spread evenly over a tree of `size`; on a small tree, one after the other from the start.
fn id_windows(size: u64) -> Vec<(u64, u64)> {
    let mut windows: Vec<(u64, u64)> = Vec::new();
    for window in 0..ID_WINDOWS {
        let next = windows.last().map_or(0, |(_, end)| *end);
        let start = (size / ID_WINDOWS * window).max(next);
        let end = (start + ID_WINDOW).min(size);
        if start >= end {
            break;
        }
        windows.push((start, end));
    }
    windows
}

/// (scheme, certificate ID) of the certificates issued in the [`id_windows`] of a tree.
async fn issued_certificates(
    client: &mut crate::Client,
    size: u64,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut ids = Vec::new();
    for (start, end) in id_windows(size) {
        ids.extend(
            client
                .entries(start, end)
                .await?
                .iter()
                .filter_map(|bytes| {
                    let decoded = entry::decode_entry(bytes).ok()?;
                    let statement =
                        entry::decode_statement(entry::signed_statement(&decoded)?).ok()?;
                    match statement.body? {
                        Body::CertificateIssued(c) => Some((c.scheme, c.certificate_id)),
                        _ => None,
                    }
                }),
        );
    }
    Ok(ids)
}

pub async fn run(cx: &Context, args: &Args) -> anyhow::Result<Output> {
    let clients = Arc::new(connect_all(cx, args.connections).await?);
    let tiles = TileClient::new(&cx.server, &cx.tls)?;
    let mut first = clients[0].clone();
    let checkpoint = first.checkpoint(0).await?.checkpoint;
    let (size, root) = (checkpoint.size, checkpoint.root);
    if size == 0 {
        anyhow::bail!("the log is empty: nothing to read");
    }
    let ids = Arc::new(issued_certificates(&mut first, size).await?);
    if ids.is_empty() {
        anyhow::bail!(
            "no certificate among the {} entries read: nothing to look up",
            id_windows(size)
                .iter()
                .map(|(start, end)| end - start)
                .sum::<u64>()
        );
    }
    let seed = mix(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64));

    let pick = {
        let clients = clients.clone();
        move |n: u64| clients[(n % clients.len() as u64) as usize].clone()
    };
    let inclusion = {
        let pick = pick.clone();
        measure(args, "inclusion", "inclusion proofs (gRPC)", move |n| {
            let mut client = pick(n);
            async move {
                let index = mix(seed ^ n) % size;
                let p = client
                    .inclusion_proof(Ok(index), size)
                    .await
                    .map_err(|e| e.to_string())?;
                if p.tree_size != size {
                    return Err(format!("proof for tree size {}, not {size}", p.tree_size));
                }
                merkle::verify_inclusion(&p.leaf_hash, index, size, &p.proof, &root)
                    .map_err(|e| format!("inclusion proof of {index}: {e}"))
            }
        })
        .await?
    };
    let status = measure(args, "status", "status lookups (gRPC)", move |n| {
        let mut client = pick(n);
        let ids = ids.clone();
        async move {
            let (scheme, id) = &ids[(mix(seed ^ n) % ids.len() as u64) as usize];
            let (record, _) = client.status(scheme, id).await.map_err(|e| e.to_string())?;
            if record.certificate_id != *id {
                return Err(format!("asked for {scheme}/{id}, got another certificate"));
            }
            Ok(())
        }
    })
    .await?;
    // Full tiles when there are some, else the partial one of the whole tree.
    let (tile_count, width) = match size / u64::from(TILE_WIDTH) {
        0 => (1, size as u16),
        full => (full, TILE_WIDTH),
    };
    let tile = move |n: u64, level| TileId {
        level,
        index: mix(seed ^ n) % tile_count,
        width,
    };
    let hash_tiles = {
        let tiles = tiles.clone();
        measure(args, "tiles", "level-0 hash tiles (HTTP)", move |n| {
            let tiles = tiles.clone();
            async move {
                tiles
                    .hash_tile(tile(n, TileLevel::Hashes(0)))
                    .await
                    .map(|_| ())
                    .map_err(|e| crate::error_chain(&e))
            }
        })
        .await?
    };
    let bundles = measure(args, "bundles", "entry bundles (HTTP)", move |n| {
        let tiles = tiles.clone();
        async move {
            tiles
                .entry_bundle(tile(n, TileLevel::Entries))
                .await
                .map(|_| ())
                .map_err(|e| crate::error_chain(&e))
        }
    })
    .await?;

    let mut text = format!(
        "read tree size {size} with {} requests in flight over {} gRPC connections\n",
        args.concurrency,
        clients.len()
    );
    let mut kinds = serde_json::Map::new();
    for mut m in [inclusion, status, hash_tiles, bundles] {
        let rate = m.rate();
        let (p50, p99, max) = summary(&mut m.latencies);
        text.push_str(&format!(
            "{}: {} in {:.2} s: {rate:.0}/s, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms, \
             {} errors\n{}",
            m.title,
            m.latencies.len(),
            m.elapsed.as_secs_f64(),
            m.errors.len(),
            m.errors
                .first()
                .map(|e| format!("  first error: {e}\n"))
                .unwrap_or_default(),
        ));
        kinds.insert(
            m.name.into(),
            json!({
                "operations": m.latencies.len(), "errors": m.errors.len(),
                "first_error": m.errors.first(), "seconds": m.elapsed.as_secs_f64(),
                "operations_per_second": rate,
                "latency_ms": { "p50": p50, "p99": p99, "max": max },
            }),
        );
    }
    let json = json!({
        "tree_size": size, "concurrency": args.concurrency, "connections": clients.len(),
        "kinds": kinds,
    });
    Ok(Output { text, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_looked_up_across_the_whole_tree() {
        // A small tree is read from the start, each entry once.
        assert_eq!(id_windows(0), vec![]);
        assert_eq!(id_windows(600), vec![(0, 256), (256, 512), (512, 600)]);
        // A large one in runs spread evenly, the last near its end.
        let windows = id_windows(10_000_000);
        assert_eq!(windows.len() as u64, ID_WINDOWS);
        assert_eq!(windows[0], (0, 256));
        assert_eq!(windows[1], (625_000, 625_256));
        assert_eq!(windows[15], (9_375_000, 9_375_256));
    }
}

//! The write path and the proofs of certlogd, on fjall (the default), redb and in memory (the
//! difference is the storage's cost, the rest is CPU):
//!
//! - `integrate/{memory,fjall,redb}`: the sequencer integrating one batch of 256 certificate
//!   issuances, from the submissions queued to every submitter answered (rules, tiles, the
//!   status map and its map head, the signed checkpoint, one atomic commit, synced to disk).
//!   The log already holds 50,000 certificates and grows as the bench runs. Throughput is in
//!   certificates (each batch also appends its map head entry).
//! - `map_update/...`: the status-map part of that alone, as the sequencer does it
//!   (`MapUpdate` over the log's `StatusMap`): 256 new keys in the map of the same 50,000
//!   certificates, then the new root and the nodes of the update. Throughput is in keys.
//! - `inclusion_proof/...`: an inclusion proof in a tree of 1,000,000 leaves written through
//!   `Storage::commit` in tile layout, read through `CachedTiles` as the log serves proofs (the
//!   server's cache of 1024 tiles with their subtree hashes, and no cache); leaf indexes
//!   spread over the whole tree.
//! - `status_proof/...`: `status_map::prove` of a certificate among 50,000.
//!
//! Run with `cargo bench -p certlog-server --bench sequencer`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use tokio::runtime::Runtime;

use certlog_log::tiles::{TILE_HEIGHT, TILE_WIDTH, TileHashReader};
use certlog_server::history::LargestSigned;
use certlog_server::reader::{CachedTiles, StorageTiles};
use certlog_server::sequencer::{self, BatchConfig, SequencerHandle, Started, Submission};
use certlog_server::storage::{Backend, Batch, MemoryStorage, Storage};
use certlog_verifier::certificate::status_key;
use certlog_verifier::entry::{
    decode_entry, decode_statement, encode_entry, sign_statement, signed_statement,
};
use certlog_verifier::merkle::{
    CompactRange, Hash, inclusion_proof, leaf_hash, tree_root, verify_inclusion,
};
use certlog_verifier::proto::{
    Assurance, Certificate, CertificationBody, CertifierRegistered, Digest, Evidence, Holder,
    Product, Standard, statement,
};
use certlog_verifier::status_map::{self, MapUpdate};
use certlog_verifier::{Checkpoint, KeyType, SigningKey};

/// Certificates per integration batch.
const BATCH: usize = 256;
/// Certificates in the log before anything is measured.
const PRELOADED: u64 = 50_000;
/// The leaves of the tree that proofs are generated in.
const TREE_SIZE: u64 = 1_000_000;
/// Leaves per commit while writing that tree.
const TREE_COMMIT: u64 = 65_536;
/// The server's cache of full tiles (certlog_server::log).
const TILE_CACHE: usize = 1024;

fn key(name: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap()
}

fn log_key() -> SigningKey {
    key("certlog.example/log", 1)
}

/// A submission as the log's front end hands it to the sequencer: signature already checked.
fn submission(signer: &SigningKey, body: statement::Body) -> Submission {
    let bytes = encode_entry(sign_statement(signer, body).unwrap());
    let entry = decode_entry(&bytes).unwrap();
    let signed = signed_statement(&entry).unwrap().clone();
    Submission {
        leaf_hash: leaf_hash(&bytes),
        statement: decode_statement(&signed).unwrap(),
        signed,
        bytes,
    }
}

fn register(operator: &SigningKey, certifier: &SigningKey) -> Submission {
    submission(
        operator,
        statement::Body::CertifierRegistered(CertifierRegistered {
            vkey: certifier.verifier_key().to_string(),
            schemes: vec!["EUCC".into(), "Matter".into(), "NESAS".into()],
            registered_at: 1_790_000_000,
        }),
    )
}

/// The certificate of examples/eucc-camera.json, as certificate number `n` (its own ID, model
/// and firmware digest).
fn certificate(n: u64) -> Certificate {
    let id = format!("EUCC-3095-2026-{n:07}");
    Certificate {
        scheme: "EUCC".into(),
        scheme_version: "Regulation (EU) 2024/482".into(),
        certificate_id: id.clone(),
        certification_type: "official".into(),
        assurance: Some(Assurance {
            level: "substantial".into(),
            package: "EAL3".into(),
            ava_van: "AVA_VAN.2".into(),
        }),
        standards: vec![
            Standard {
                id: "ISO/IEC 15408".into(),
                version: "2022".into(),
            },
            Standard {
                id: "ISO/IEC 18045".into(),
                version: "2022".into(),
            },
        ],
        product: Some(Product {
            vendor: "Nordlicht Devices GmbH".into(),
            name: "Nordlicht Cam 3".into(),
            r#type: "IP camera".into(),
            model: format!("NC3-{n}"),
            hardware_version: "rev B".into(),
            firmware_version: "3.2.1".into(),
            firmware_digests: vec![Digest {
                alg: "sha256".into(),
                digest: leaf_hash(id.as_bytes()).0.to_vec(),
            }],
            ..Default::default()
        }),
        holder: Some(Holder {
            name: "Nordlicht Devices GmbH".into(),
            address: "Hafenstrasse 1, 20457 Hamburg, DE".into(),
            website: "https://nordlicht.example".into(),
        }),
        certification_body: Some(CertificationBody {
            name: "Example Certification Body".into(),
            id: "NANDO-2345".into(),
        }),
        test_lab: "Example ITSEF".into(),
        evidence: vec![Evidence {
            kind: "certification_report".into(),
            uri: format!("https://cb.example/reports/{id}.pdf"),
            sha256: leaf_hash(b"report").0.to_vec(),
        }],
        issued_at: 1_793_610_000,
        not_before: 1_793_577_600,
        not_after: 1_951_343_999,
        support_period_end: 1_956_527_999,
        ..Default::default()
    }
}

fn issue(certifier: &SigningKey, n: u64) -> Submission {
    submission(
        certifier,
        statement::Body::CertificateIssued(certificate(n)),
    )
}

/// Submits every submission at once and waits for all the answers; returns the tree size
/// that answered them.
async fn submit_all(handle: &SequencerHandle, submissions: Vec<Submission>) -> u64 {
    let mut set = tokio::task::JoinSet::new();
    for s in submissions {
        let handle = handle.clone();
        set.spawn(async move { handle.submit(s).await });
    }
    let mut size = 0;
    while let Some(result) = set.join_next().await {
        let sequenced = result.unwrap().unwrap();
        assert!(!sequenced.duplicate);
        size = size.max(sequenced.published.size);
    }
    size
}

/// A log with its sequencer and certifier, and the number of the next certificate.
struct Log {
    name: &'static str,
    storage: Arc<dyn Storage>,
    started: Started,
    certifier: SigningKey,
    next: u64,
}

impl Log {
    /// A log over `storage` holding a registration and `PRELOADED` certificates, issued in
    /// batches of `BATCH`.
    fn preloaded(name: &'static str, storage: Arc<dyn Storage>, rt: &Runtime) -> Log {
        let config = BatchConfig {
            max_entries: BATCH,
            // Long enough that a batch is always full: every submission is queued at once.
            interval: Duration::from_millis(200),
            queue: 4 * BATCH,
        };
        // The record of the largest signed tree stays in memory: not measured here.
        let signed = LargestSigned::in_memory(log_key().name());
        let started = sequencer::start(
            storage.clone(),
            log_key(),
            signed,
            config,
            Default::default(),
        )
        .unwrap();
        let (operator, certifier) = (
            key("certlog.example/log/operator", 2),
            key("cb.example/eucc", 3),
        );
        rt.block_on(submit_all(
            &started.handle,
            vec![register(&operator, &certifier)],
        ));
        let mut log = Log {
            name,
            storage,
            started,
            certifier,
            next: 0,
        };
        let t = Instant::now();
        while log.next < PRELOADED {
            log.integrate(rt);
        }
        eprintln!(
            "{name}: {PRELOADED} certificates preloaded in {:.1} s, tree size {}",
            t.elapsed().as_secs_f64(),
            log.storage.size().unwrap()
        );
        log
    }

    /// The next batch of certificates, signed.
    fn next_batch(&mut self) -> Vec<Submission> {
        (0..BATCH)
            .map(|_| {
                self.next += 1;
                issue(&self.certifier, self.next)
            })
            .collect()
    }

    /// Integrates one batch; returns the time from submission to the last answer.
    fn integrate(&mut self, rt: &Runtime) -> Duration {
        self.integrate_measured(rt, || ()).0
    }

    /// Integrates one batch, reading `probe` just before and just after.
    fn integrate_measured<T>(&mut self, rt: &Runtime, probe: impl Fn() -> T) -> (Duration, T, T) {
        let submissions = self.next_batch();
        let before = self.storage.size().unwrap();
        let (t, start) = (Instant::now(), probe());
        let size = rt.block_on(submit_all(&self.started.handle, submissions));
        let (elapsed, end) = (t.elapsed(), probe());
        // One batch: the certificates and their map head.
        assert_eq!(size, before + BATCH as u64 + 1);
        (elapsed, start, end)
    }

    /// Integrates `n` more batches and prints their wall and CPU time (all threads: the
    /// sequencer, the runtime answering, the storage's own threads).
    fn print_cpu_per_batch(&mut self, rt: &Runtime, n: u32) {
        let (mut wall, mut cpu) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..n {
            let (elapsed, start, end) = self.integrate_measured(rt, process_cpu);
            let (Some(start), Some(end)) = (start, end) else {
                return;
            };
            wall += elapsed;
            cpu += end - start;
        }
        eprintln!(
            "{}: {n} more batches of {BATCH}: {:.1} ms wall, {:.1} ms CPU per batch",
            self.name,
            wall.as_secs_f64() * 1e3 / f64::from(n),
            cpu.as_secs_f64() * 1e3 / f64::from(n),
        );
    }
}

/// The CPU time every thread of this process has used so far (Linux), to tell the work of a
/// batch from the time it waits for the disk or for a busy machine.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// Tiles of a growing tree, as the sequencer writes them.
#[derive(Default)]
struct TileWriter {
    range: CompactRange,
    partial: Vec<Vec<u8>>,
}

impl TileWriter {
    fn append(&mut self, leaf: Hash, full: &mut Vec<(u8, u64, Vec<u8>)>) {
        let partial = &mut self.partial;
        self.range.append(leaf, |node, hash| {
            if node.level % TILE_HEIGHT == 0 {
                let level = node.level / TILE_HEIGHT;
                let l = usize::from(level);
                if partial.len() <= l {
                    partial.resize_with(l + 1, Vec::new);
                }
                partial[l].extend_from_slice(hash.as_bytes());
                if partial[l].len() == usize::from(TILE_WIDTH) * Hash::LEN {
                    let tile = std::mem::take(&mut partial[l]);
                    full.push((level, node.index / u64::from(TILE_WIDTH), tile));
                }
            }
        });
    }

    /// The partial tiles at the current size.
    fn partial_tiles(&self, out: &mut Vec<(u8, u64, Vec<u8>)>) {
        let size = self.range.size();
        for (level, tile) in self.partial.iter().enumerate() {
            if !tile.is_empty() {
                let count = size >> (level as u32 * u32::from(TILE_HEIGHT));
                out.push((level as u8, count / u64::from(TILE_WIDTH), tile.clone()));
            }
        }
    }
}

/// Writes a tree of `TREE_SIZE` leaves (hashes and signed checkpoints; no entry bytes) through
/// commits of `TREE_COMMIT` leaves.
fn write_tree(storage: &dyn Storage) -> Hash {
    let log_key = log_key();
    let mut writer = TileWriter::default();
    while writer.range.size() < TREE_SIZE {
        let end = (writer.range.size() + TREE_COMMIT).min(TREE_SIZE);
        let mut tiles = Vec::new();
        for i in writer.range.size()..end {
            writer.append(leaf_hash(&i.to_be_bytes()), &mut tiles);
        }
        writer.partial_tiles(&mut tiles);
        let checkpoint = Checkpoint::new(log_key.name(), end, writer.range.root())
            .sign(&log_key)
            .unwrap()
            .to_text();
        storage
            .commit(&Batch {
                size: end,
                tiles,
                checkpoint,
                ..Batch::default()
            })
            .unwrap();
    }
    let root = writer.range.root();
    assert_eq!(
        tree_root(TREE_SIZE, &TileHashReader(StorageTiles(storage))).unwrap(),
        root
    );
    root
}

/// Leaf indexes spread over the tree (a linear congruential sequence).
fn indexes() -> Vec<u64> {
    let mut x: u64 = 12_345;
    (0..4096)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % TREE_SIZE
        })
        .collect()
}

fn write_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (fjall_dir, redb_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let memory: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let mut logs = vec![
        Log::preloaded("memory", memory, &rt),
        Log::preloaded("fjall", Backend::Fjall.open(fjall_dir.path()).unwrap(), &rt),
        Log::preloaded("redb", Backend::Redb.open(redb_dir.path()).unwrap(), &rt),
    ];

    // The map update of a batch, alone, over the map of the preloaded certificates.
    let new: Vec<(Hash, Hash)> = (0..BATCH as u64)
        .map(|j| {
            (
                status_key("EUCC", &format!("EUCC-NEW-{j:03}")),
                leaf_hash(&j.to_be_bytes()),
            )
        })
        .collect();
    let mut group = c.benchmark_group("map_update");
    group.throughput(Throughput::Elements(BATCH as u64));
    for log in &logs {
        let map = log.started.map.view(&*log.storage).unwrap();
        let update = || {
            let mut update = MapUpdate::new(&map);
            for (key, value) in &new {
                update.set(*key, *value);
            }
            update.finish().unwrap().1
        };
        eprintln!(
            "{}: {BATCH} new keys in a map of {PRELOADED}: {} nodes changed",
            log.name,
            update().len()
        );
        group.bench_function(
            BenchmarkId::new(log.name, format!("keys={PRELOADED}/new={BATCH}")),
            |b| b.iter(&update),
        );
    }
    group.finish();

    // A status proof among the preloaded certificates, as a bundle needs.
    let mut group = c.benchmark_group("status_proof");
    let key = status_key("EUCC", "EUCC-3095-2026-0004242");
    for log in &logs {
        let map = log.started.map.view(&*log.storage).unwrap();
        assert!(status_map::prove(&map, &key).unwrap().value.is_some());
        group.bench_function(
            BenchmarkId::new(log.name, format!("keys={PRELOADED}")),
            |b| b.iter(|| status_map::prove(&map, black_box(&key)).unwrap()),
        );
    }
    group.finish();

    // The whole integration of a batch by the sequencer.
    let mut group = c.benchmark_group("integrate");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(BATCH as u64));
    for log in &mut logs {
        group.bench_function(
            BenchmarkId::new(log.name, format!("certificates={BATCH}")),
            |b| b.iter_custom(|iters| (0..iters).map(|_| log.integrate(&rt)).sum::<Duration>()),
        );
        log.print_cpu_per_batch(&rt, 20);
        eprintln!(
            "{}: tree size {} after the bench",
            log.name,
            log.storage.size().unwrap()
        );
    }
    group.finish();
    for log in logs {
        drop(log.started.handle);
        log.started.thread.join().unwrap();
    }

    // Inclusion proofs in a tree of a million leaves.
    let tree_dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let trees: Vec<(&str, Arc<dyn Storage>)> = vec![
        ("memory", Arc::new(MemoryStorage::default())),
        ("fjall", Backend::Fjall.open(tree_dir.path()).unwrap()),
    ];
    let mut root = Hash::default();
    for (_, storage) in &trees {
        root = write_tree(&**storage);
    }
    eprintln!(
        "trees of {TREE_SIZE} leaves written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let indexes = indexes();
    let mut group = c.benchmark_group("inclusion_proof");
    for (name, storage) in &trees {
        for (cache, capacity) in [("cache=1024", TILE_CACHE), ("no_cache", 0)] {
            let tiles = CachedTiles::new(storage.clone(), capacity);
            for &i in &indexes[..16] {
                let proof = inclusion_proof(i, TREE_SIZE, &&tiles.reader()).unwrap();
                verify_inclusion(&leaf_hash(&i.to_be_bytes()), i, TREE_SIZE, &proof, &root)
                    .unwrap();
            }
            let mut next = indexes.iter().copied().cycle();
            group.bench_function(
                BenchmarkId::new(*name, format!("size={TREE_SIZE}/{cache}")),
                |b| {
                    b.iter(|| {
                        let i = next.next().unwrap_or_default();
                        // A reader per proof, as the log makes one per request.
                        inclusion_proof(black_box(i), TREE_SIZE, &&tiles.reader()).unwrap()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = write_path
}
criterion_main!(benches);

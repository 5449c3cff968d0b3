//! What a device spends on a proof bundle, and what the status map costs per certificate.
//!
//! - `verify_bundle/size=N`: [`verify_bundle`] of a real bundle (the EUCC camera of
//!   `examples/eucc-camera.json`, issued by a registered certifier, active) against a checkpoint
//!   of a log of N entries whose status map holds N keys (every entry counted as a certificate:
//!   an upper bound on the status proof's depth). The encoded size of each bundle is printed
//!   once during setup.
//! - `map_update/keys=N`: one integration batch of 256 new certificates in a status map that
//!   already holds N keys: [`MapUpdate::set`] of each, then [`MapUpdate::finish`] (the new
//!   root and the nodes to write). Throughput is in keys.
//!
//! Run with `cargo bench -p certlog-verifier --bench bundle`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use certlog_verifier::bundle::{Expected, Options, Policy, Standing, verify_bundle};
use certlog_verifier::certificate::{status_key, status_record_hash};
use certlog_verifier::entry::{
    decode_entry, encode_entry, sign_statement, signed_statement, verify_statement,
};
use certlog_verifier::merkle::{
    CompactRange, Hash, HashReader, NodeId, inclusion_proof, leaf_hash, tree_root,
};
use certlog_verifier::proto::{
    Assurance, Certificate, CertificationBody, CertifierRegistered, Digest, Entry, Evidence,
    Holder, MapHead, Product, ProofBundle, Standard, StatusRecord, entry, statement,
};
use certlog_verifier::rules::{Change, MemoryState, check_entry};
use certlog_verifier::status_map::{MapNode, MapUpdate, MemoryMap, prove};
use certlog_verifier::{Checkpoint, KeyType, SignedCheckpoint, SigningKey};

/// The verifier's clock: 2027-06-01T00:00:00Z, within the certificate's validity.
const NOW: i64 = 1_811_808_000;
/// The certifier's registration.
const REGISTRATION_INDEX: u64 = 0;
/// The certificate: early in the log, so that its inclusion proof has the full depth.
const CERTIFICATE_INDEX: u64 = 4_242;
/// The firmware digest the camera's certificate lists.
const FIRMWARE: &str = "9f2c4a1e5b7d3c8e0a6f1b2d4c6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f";
/// Keys added to a status map per update while building it.
const BUILD_BATCH: u64 = 65_536;
/// Certificates per integration batch.
const BATCH: usize = 256;

struct Keys {
    log: SigningKey,
    operator: SigningKey,
    certifier: SigningKey,
}

impl Keys {
    fn new() -> Keys {
        let key = |name: &str, seed: u8| SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]);
        Keys {
            log: key("certlog.example/log", 1).unwrap(),
            operator: key("certlog.example/log/operator", 2).unwrap(),
            certifier: key("cb.example/eucc", 3).unwrap(),
        }
    }
}

fn hex32(text: &str) -> Vec<u8> {
    let bytes = hex::decode(text).unwrap();
    assert_eq!(bytes.len(), 32);
    bytes
}

/// examples/eucc-camera.json, field by field (times in seconds since the epoch).
fn eucc_camera() -> Certificate {
    Certificate {
        scheme: "EUCC".into(),
        scheme_version: "Regulation (EU) 2024/482".into(),
        certificate_id: "EUCC-3095-2026-11-0042".into(),
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
        protection_profiles: vec![],
        product: Some(Product {
            vendor: "Nordlicht Devices GmbH".into(),
            name: "Nordlicht Cam 3".into(),
            r#type: "IP camera".into(),
            model: "NC3-100".into(),
            hardware_version: "rev B".into(),
            firmware_version: "3.2.1".into(),
            firmware_digests: vec![Digest {
                alg: "sha256".into(),
                digest: hex32(FIRMWARE),
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
            uri: "https://cb.example/reports/EUCC-3095-2026-11-0042.pdf".into(),
            sha256: hex32("1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001"),
        }],
        issued_at: 1_793_610_000,          // 2026-11-02T09:00:00Z
        not_before: 1_793_577_600,         // 2026-11-02T00:00:00Z
        not_after: 1_951_343_999,          // 2031-11-01T23:59:59Z
        support_period_end: 1_956_527_999, // 2031-12-31T23:59:59Z
        ..Default::default()
    }
}

/// The registration and certificate entries, and the status record the log's rules give the
/// certificate.
struct Statements {
    registration: Vec<u8>,
    certificate: Vec<u8>,
    key: Hash,
    record: StatusRecord,
}

fn statements(keys: &Keys) -> Statements {
    let registration = encode_entry(
        sign_statement(
            &keys.operator,
            statement::Body::CertifierRegistered(CertifierRegistered {
                vkey: keys.certifier.verifier_key().to_string(),
                schemes: vec!["EUCC".into(), "Matter".into(), "NESAS".into()],
                registered_at: 1_790_000_000,
            }),
        )
        .unwrap(),
    );
    let certificate = encode_entry(
        sign_statement(
            &keys.certifier,
            statement::Body::CertificateIssued(eucc_camera()),
        )
        .unwrap(),
    );
    // The rules, as the log and an auditor apply them.
    let operator = keys.operator.verifier_key();
    let mut state = MemoryState::default();
    let change = check_entry(&registration, REGISTRATION_INDEX, &operator, &state).unwrap();
    state.record(change);
    let Change::Status { key, record } =
        check_entry(&certificate, CERTIFICATE_INDEX, &operator, &state).unwrap()
    else {
        panic!("a certificate changes a status");
    };
    Statements {
        registration,
        certificate,
        key,
        record,
    }
}

/// The status key of another certificate.
fn other_key(i: u64) -> Hash {
    status_key("EUCC", &format!("EUCC-BENCH-{i:07}"))
}

/// A value for another certificate (any hash: only the key's own proof is checked).
fn other_value(i: u64) -> Hash {
    Hash(Sha256::digest(i.to_be_bytes()).into())
}

/// Adds the keys of certificates `range` to the map, through [`MapUpdate`].
fn grow(map: &mut MemoryMap, range: Range<u64>) {
    let mut start = range.start;
    while start < range.end {
        let end = (start + BUILD_BATCH).min(range.end);
        let mut update = MapUpdate::new(&*map);
        for i in start..end {
            update.set(other_key(i), other_value(i));
        }
        let (_, changes) = update.finish().unwrap();
        map.apply(changes);
        start = end;
    }
}

/// The CPU time this thread has used (Linux), to tell what a figure costs from how busy the
/// machine was while criterion timed it.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        stat.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Runs `f` `n` times and prints the CPU time per run, when the platform tells it.
fn print_cpu_per_run<T>(what: &str, n: u32, mut f: impl FnMut() -> T) {
    let (Some(start), t) = (thread_cpu(), Instant::now()) else {
        return;
    };
    for _ in 0..n {
        black_box(f());
    }
    let wall = t.elapsed() / n;
    if let Some(end) = thread_cpu() {
        eprintln!(
            "{what}: {:.1} µs CPU per run ({:.1} µs wall) over {n} runs",
            (end - start).as_secs_f64() * 1e6 / f64::from(n),
            wall.as_secs_f64() * 1e6,
        );
    }
}

/// Every stored subtree hash of a tree, level by level, in index order: what a log keeps.
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn with_leaves(size: u64, leaf: impl Fn(u64) -> Hash) -> Levels {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut range = CompactRange::new();
        for i in 0..size {
            range.append(leaf(i), |node, hash| {
                let level = usize::from(node.level);
                if levels.len() == level {
                    levels.push(Vec::new());
                }
                // Subtrees complete from left to right, so each level fills in order.
                assert_eq!(levels[level].len() as u64, node.index);
                levels[level].push(*hash);
            });
        }
        Levels(levels)
    }
}

impl HashReader for Levels {
    type Error = Infallible;

    fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
        Ok(self.0[usize::from(node.level)][node.index as usize])
    }
}

/// The bundle of the certificate in a log of `size` entries: the registration at 0, the
/// certificate, filler entries, and last the map head of `map`, under a signed checkpoint.
fn build_bundle(keys: &Keys, s: &Statements, size: u64, map: &MemoryMap) -> ProofBundle {
    let head_index = size - 1;
    let map_head = Entry {
        body: Some(entry::Body::MapHead(MapHead {
            root: map.root().0.to_vec(),
            tree_size: head_index,
            timestamp: NOW - 60,
        })),
    }
    .encode_to_vec();
    let tree = Levels::with_leaves(size, |i| match i {
        REGISTRATION_INDEX => leaf_hash(&s.registration),
        CERTIFICATE_INDEX => leaf_hash(&s.certificate),
        i if i == head_index => leaf_hash(&map_head),
        i => leaf_hash(format!("filler entry {i}").as_bytes()),
    });
    let root = tree_root(size, &tree).unwrap();
    let checkpoint = Checkpoint::new(keys.log.name(), size, root)
        .sign(&keys.log)
        .unwrap()
        .to_text();
    let proof = |index: u64| -> Vec<Vec<u8>> {
        inclusion_proof(index, size, &tree)
            .unwrap()
            .iter()
            .map(|h| h.0.to_vec())
            .collect()
    };
    let lookup = prove(map, &s.key).unwrap();
    assert_eq!(lookup.value, Some(status_record_hash(&s.record)));
    ProofBundle {
        scheme: s.record.scheme.clone(),
        certificate_id: s.record.certificate_id.clone(),
        checkpoint,
        entry_index: CERTIFICATE_INDEX,
        entry: s.certificate.clone(),
        entry_proof: proof(CERTIFICATE_INDEX),
        registration_index: REGISTRATION_INDEX,
        registration: s.registration.clone(),
        registration_proof: proof(REGISTRATION_INDEX),
        status: Some(s.record.clone()),
        map_head_index: head_index,
        map_head,
        map_head_proof: proof(head_index),
        status_proof: Some(lookup.proof),
        consistency_from: 0,
        consistency_proof: vec![],
    }
}

fn bundles(c: &mut Criterion) {
    let keys = Keys::new();
    let s = statements(&keys);

    // The status maps: the certificate, then other certificates up to 10,000, 100,000 and
    // 1,000,000 keys.
    let started = Instant::now();
    let mut map = MemoryMap::default();
    let mut update = MapUpdate::new(&map);
    update.set(s.key, status_record_hash(&s.record));
    let (_, changes) = update.finish().unwrap();
    map.apply(changes);
    grow(&mut map, 1..10_000);
    let map_10k = map.clone();
    grow(&mut map, 10_000..100_000);
    let map_100k = map.clone();
    grow(&mut map, 100_000..1_000_000);
    let map_1m = map;
    eprintln!(
        "status maps of 10,000, 100,000 and 1,000,000 keys built in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let log_key = keys.log.verifier_key();
    let policy = Policy {
        log_key: &log_key,
        witnesses: &[],
        quorum: 0,
    };
    let options = Options {
        now: NOW,
        max_age: Some(86_400),
        firmware_sha256: Some(hex32(FIRMWARE).try_into().unwrap()),
        trusted: None,
    };

    let expected = Expected::new("EUCC", "EUCC-3095-2026-11-0042");
    let mut group = c.benchmark_group("verify_bundle");
    for (size, map) in [(10_000u64, &map_10k), (1_000_000, &map_1m)] {
        let bundle = build_bundle(&keys, &s, size, map);
        let bytes = bundle.encode_to_vec();
        let verified = verify_bundle(&bytes, &policy, &expected, &options).unwrap();
        assert_eq!(verified.standing, Standing::Active);
        let proof = bundle.status_proof.as_ref().unwrap();
        eprintln!(
            "bundle at tree size {size} ({} status-map keys, no cosignatures): {} bytes \
             (certificate entry {}, registration {}, map head {}, checkpoint {}, \
             inclusion proofs {}+{}+{} hashes, status record {} bytes, status proof {} bytes: \
             depth {}, {} siblings)",
            map.0
                .values()
                .filter(|n| matches!(n, MapNode::Leaf { .. }))
                .count(),
            bytes.len(),
            bundle.entry.len(),
            bundle.registration.len(),
            bundle.map_head.len(),
            bundle.checkpoint.len(),
            bundle.entry_proof.len(),
            bundle.registration_proof.len(),
            bundle.map_head_proof.len(),
            s.record.encoded_len(),
            proof.encoded_len(),
            proof.depth,
            proof.siblings.len(),
        );
        print_cpu_per_run(&format!("verify_bundle at size {size}"), 2_000, || {
            verify_bundle(&bytes, &policy, &expected, &options)
        });
        // Its two signature checks, for comparison.
        print_cpu_per_run("  of which the checkpoint's signature", 2_000, || {
            SignedCheckpoint::verify(bundle.checkpoint.as_bytes(), &log_key).unwrap()
        });
        let decoded = decode_entry(&bundle.entry).unwrap();
        let signed = signed_statement(&decoded).unwrap();
        let certifier = keys.certifier.verifier_key();
        print_cpu_per_run("  and the certifier's signature", 2_000, || {
            verify_statement(signed, &certifier).unwrap()
        });
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("size={size}")),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    verify_bundle(
                        black_box(bytes),
                        black_box(&policy),
                        black_box(&expected),
                        black_box(&options),
                    )
                })
            },
        );
    }
    group.finish();

    // One batch of new certificates: set each key, then the new root and the nodes to write.
    let new: Vec<(Hash, Hash)> = (0..BATCH as u64)
        .map(|j| {
            (
                status_key("EUCC", &format!("EUCC-NEW-{j:03}")),
                other_value(j),
            )
        })
        .collect();
    let mut group = c.benchmark_group("map_update");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (keys, map) in [(100_000u64, &map_100k), (1_000_000, &map_1m)] {
        let update = || {
            let mut update = MapUpdate::new(map);
            for (key, value) in &new {
                update.set(*key, *value);
            }
            update.finish().unwrap().1
        };
        eprintln!(
            "{BATCH} new keys in a map of {keys}: {} nodes to write",
            update().len()
        );
        print_cpu_per_run(
            &format!("map update of {BATCH} keys in {keys}"),
            20,
            &update,
        );
        group.bench_function(
            BenchmarkId::from_parameter(format!("keys={keys}/new={BATCH}")),
            |b| b.iter(&update),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bundles
}
criterion_main!(benches);

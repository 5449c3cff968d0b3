//! What a device spends on a proof bundle, and what the status map costs per certificate.
//!
//! - `verify_bundle/size=N`: [`verify_bundle`] of a real bundle (the EUCC camera of
//!   `examples/eucc-camera.json`, issued by a registered certifier, active) against a checkpoint
//!   of a log of N entries whose status map holds N keys (every entry counted as a certificate
//!   or a certifier: an upper bound on the status proofs' depth). The bundle carries the
//!   certifier's record and its status proof besides the certificate's. The encoded size of
//!   each bundle, part by part, and the depths of the map's keys are printed once during setup.
//!   `size=N/quorum=2` is the same bundle with two witness cosignatures on its checkpoint,
//!   verified with a quorum of 2.
//!
//!   N = 20,000,000 stands for a large registry. Its status map is not built through
//!   [`MapUpdate`] (its some 40 million nodes would take an estimated 5 GiB in a
//!   [`MemoryMap`]): its keys are sorted and each subtree under the first eight key bits built
//!   with [`subtree`], keeping only the nodes on the proven keys' paths and their siblings,
//!   then the eight levels above hashed. The root and the proofs are those of the whole map
//!   (checked at 1,000,000 keys against the map [`MapUpdate`] builds).
//! - `map_update/keys=N`: one integration batch of 256 new certificates in a status map that
//!   already holds N keys: [`MapUpdate::set`] of each, then [`MapUpdate::finish`] (the new
//!   root and the nodes to write). Throughput is in keys.
//!
//! Run with `cargo bench -p certlog-log --bench bundle`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use certlog_log::rules::{Change, MemoryState, check_entry};
use certlog_verifier::bundle::{Expected, Options, Policy, Standing, verify_bundle};
use certlog_verifier::certificate::{
    certifier_key, certifier_record_hash, status_key, status_record_hash,
};
use certlog_verifier::cosignature::cosign;
use certlog_verifier::entry::{
    decode_entry, encode_entry, sign_statement, signed_statement, verify_statement,
};
use certlog_verifier::merkle::{
    CompactRange, Hash, HashReader, NodeId, inclusion_proof, leaf_hash, tree_root,
};
use certlog_verifier::proto::{
    Assurance, Certificate, CertificationBody, CertifierRecord, CertifierRegistered, Digest, Entry,
    Evidence, Holder, MapHead, Product, ProofBundle, Standard, StatusRecord, entry, statement,
};
use certlog_verifier::status_map::{
    EMPTY, MapNode, MapUpdate, MemoryMap, NodePath, node_hash, prove, subtree,
};
use certlog_verifier::{Checkpoint, KeyType, SignedCheckpoint, SigningKey, VerifierKey};

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
    witnesses: [SigningKey; 2],
}

impl Keys {
    fn new() -> Keys {
        let key = |name: &str, seed: u8| SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]);
        Keys {
            log: key("certlog.example/log", 1).unwrap(),
            operator: key("certlog.example/log/operator", 2).unwrap(),
            certifier: key("cb.example/eucc", 3).unwrap(),
            witnesses: [4, 5].map(|seed| {
                let name = format!("witness{seed}.example");
                SigningKey::from_seed(&name, KeyType::CosignatureV1, &[seed; 32]).unwrap()
            }),
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

/// The registration and certificate entries, the status record the log's rules give the
/// certificate, and the certifier's record (its status-map key and value).
struct Statements {
    registration: Vec<u8>,
    certificate: Vec<u8>,
    key: Hash,
    record: StatusRecord,
    certifier_key: Hash,
    certifier: CertifierRecord,
}

impl Statements {
    /// The keys and values of the certificate and of its certifier, the keys a bundle proves.
    fn proven(&self) -> [(Hash, Hash); 2] {
        [
            (self.key, status_record_hash(&self.record)),
            (self.certifier_key, certifier_record_hash(&self.certifier)),
        ]
    }
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
    let Change::Certifier {
        name,
        record: certifier,
        ..
    } = change.clone()
    else {
        panic!("a registration changes a certifier");
    };
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
        certifier_key: certifier_key(&name),
        certifier,
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
/// certificate, filler entries, and last the map head of `map` (whose root is `root`), under a
/// checkpoint signed by the log and, with `cosigned`, by both witnesses. The certificate's
/// status and its certifier's record are proven under the map head.
fn build_bundle(
    keys: &Keys,
    s: &Statements,
    size: u64,
    map: &MemoryMap,
    cosigned: bool,
) -> ProofBundle {
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
    let mut checkpoint = Checkpoint::new(keys.log.name(), size, root)
        .sign(&keys.log)
        .unwrap();
    if cosigned {
        let text = checkpoint.note.text().to_string();
        for (i, witness) in keys.witnesses.iter().enumerate() {
            let signature = cosign(witness, &text, (NOW - 30) as u64 + i as u64).unwrap();
            checkpoint.note.add_signature(signature);
        }
    }
    let proof = |index: u64| -> Vec<Vec<u8>> {
        inclusion_proof(index, size, &tree)
            .unwrap()
            .iter()
            .map(|h| h.0.to_vec())
            .collect()
    };
    let [(key, value), (certifier_key, certifier_value)] = s.proven();
    let lookup = prove(map, &key).unwrap();
    assert_eq!(lookup.value, Some(value));
    let certifier = prove(map, &certifier_key).unwrap();
    assert_eq!(certifier.value, Some(certifier_value));
    ProofBundle {
        scheme: s.record.scheme.clone(),
        certificate_id: s.record.certificate_id.clone(),
        checkpoint: checkpoint.to_text(),
        entry_index: CERTIFICATE_INDEX,
        entry: s.certificate.clone(),
        certifier: Some(s.certifier.clone()),
        certifier_proof: Some(certifier.proof),
        status: Some(s.record.clone()),
        map_head_index: head_index,
        map_head,
        map_head_proof: proof(head_index),
        status_proof: Some(lookup.proof),
        consistency_from: 0,
        consistency_proof: vec![],
    }
}

/// How many keys stand at each depth of a map (its leaves' depths), and the map's key count.
#[derive(Default)]
struct Depths(Vec<u64>);

impl Depths {
    fn of(map: &MemoryMap) -> Depths {
        let mut depths = Depths::default();
        for (path, node) in &map.0 {
            if let MapNode::Leaf { .. } = node {
                depths.add(path.depth);
            }
        }
        depths
    }

    fn add(&mut self, depth: u16) {
        let depth = usize::from(depth);
        if self.0.len() <= depth {
            self.0.resize(depth + 1, 0);
        }
        self.0[depth] += 1;
    }

    fn keys(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The smallest depth at or above which a share `q` of the keys stand.
    fn quantile(&self, q: f64) -> usize {
        let target = (q * self.keys() as f64).ceil() as u64;
        let mut seen = 0;
        for (depth, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= target.max(1) {
                return depth;
            }
        }
        self.0.len()
    }

    fn summary(&self) -> String {
        let mean = self
            .0
            .iter()
            .enumerate()
            .map(|(d, n)| d as f64 * *n as f64)
            .sum::<f64>()
            / self.keys() as f64;
        let spread: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| format!("{d}:{n}"))
            .collect();
        format!(
            "{} keys, depth mean {mean:.2}, median {}, 99th percentile {}, max {} \
             (log2 of the keys {:.2}); depth:keys {}",
            self.keys(),
            self.quantile(0.5),
            self.quantile(0.99),
            self.0.len() - 1,
            (self.keys() as f64).log2(),
            spread.join(" "),
        )
    }
}

/// The depth above which [`sparse_map`] builds subtrees: 256 of them.
const TOP: u16 = 8;

/// Whether a proof of one of `proven` reads the node at `path`: it is on its path, or the
/// sibling of a node on it (a key of `proven` shares the bits above it).
fn read_by_proofs(path: &NodePath, proven: &BTreeSet<Hash>) -> bool {
    let above = usize::from(path.depth.saturating_sub(1));
    let (mut low, mut high) = (path.prefix.0, path.prefix.0);
    for i in above / 8..32 {
        let keep: u8 = match above % 8 {
            bits if i == above / 8 && bits > 0 => 0xff << (8 - bits),
            _ => 0,
        };
        low[i] &= keep;
        high[i] = low[i] | !keep;
    }
    proven.range(Hash(low)..=Hash(high)).next().is_some()
}

/// The status map of `keys` (sorted, at least two under every first byte), as far as proofs of
/// `proven` read it: each subtree under the first [`TOP`] key bits is built with [`subtree`] and
/// dropped but for the nodes the proofs read, then the levels above are hashed. The root and
/// the proofs of `proven` are those of the whole map; the depths are of all its keys.
fn sparse_map(keys: &[(Hash, Hash)], proven: &BTreeSet<Hash>) -> (MemoryMap, Depths) {
    let mut map = MemoryMap::default();
    let mut depths = Depths::default();
    let mut hashes = Vec::with_capacity(1 << TOP);
    let mut rest = keys;
    for first in 0..=u8::MAX {
        let (under, tail) = rest.split_at(rest.partition_point(|(k, _)| k.0[0] == first));
        rest = tail;
        assert!(under.len() >= 2, "{} keys under {first:#04x}", under.len());
        let mut prefix = [0; 32];
        prefix[0] = first;
        let path = NodePath {
            depth: TOP,
            prefix: Hash(prefix),
        };
        let nodes = subtree(path, under);
        let (_, top) = nodes.iter().find(|(p, _)| *p == path).unwrap();
        hashes.push(top.hash());
        for (path, node) in nodes {
            if let MapNode::Leaf { .. } = node {
                depths.add(path.depth);
            }
            if read_by_proofs(&path, proven) {
                map.0.insert(path, node);
            }
        }
    }
    assert!(rest.is_empty());
    for depth in (0..TOP).rev() {
        hashes = hashes
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| {
                let hash = node_hash(&pair[0], &pair[1]);
                let mut prefix = [0; 32];
                prefix[0] = ((i as u32) << (TOP - depth)) as u8;
                let path = NodePath {
                    depth,
                    prefix: Hash(prefix),
                };
                if read_by_proofs(&path, proven) {
                    map.0.insert(path, MapNode::Internal { hash });
                }
                hash
            })
            .collect();
    }
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], EMPTY);
    (map, depths)
}

/// The keys and values of a map of `n` keys: the certificate's, its certifier's, and those of
/// other certificates; sorted.
fn all_keys(s: &Statements, n: u64) -> Vec<(Hash, Hash)> {
    let mut keys: Vec<(Hash, Hash)> = s.proven().to_vec();
    keys.extend((2..n).map(|i| (other_key(i), other_value(i))));
    keys.sort_unstable();
    keys
}

/// Keys whose proofs are sampled: every `n / SAMPLE`th of a map of `n` keys.
const SAMPLE: u64 = 1_000;

fn sampled(n: u64) -> impl Iterator<Item = Hash> {
    (0..SAMPLE).map(move |j| other_key(2 + j * (n - 2) / SAMPLE))
}

/// The encoded sizes of the status proofs of the sampled keys, sorted.
fn proof_sizes(map: &MemoryMap, n: u64) -> Vec<usize> {
    let mut sizes: Vec<usize> = sampled(n)
        .map(|key| {
            let lookup = prove(map, &key).unwrap();
            assert!(lookup.value.is_some());
            lookup.proof.encoded_len()
        })
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Prints what the bundle's size would be were both its status proofs of the median size of
/// the sampled keys', then of their 99th percentile.
fn print_typical(bundle: &ProofBundle, sizes: &[usize]) {
    let own = bundle.status_proof.as_ref().unwrap().encoded_len()
        + bundle.certifier_proof.as_ref().unwrap().encoded_len();
    let at = |q: f64| sizes[((q * sizes.len() as f64) as usize).min(sizes.len() - 1)];
    let with = |proof: usize| bundle.encoded_len() - own + 2 * proof;
    eprintln!(
        "  status proofs of {} keys of the map: {} to {} bytes, median {}, 99th percentile {}; \
         the bundle with both its proofs at the median: {} bytes, at the 99th percentile: {} bytes",
        sizes.len(),
        sizes[0],
        sizes[sizes.len() - 1],
        at(0.5),
        at(0.99),
        with(at(0.5)),
        with(at(0.99)),
    );
}

/// Prints a bundle's size, part by part.
fn print_bundle(size: u64, depths: &Depths, bundle: &ProofBundle, quorum: usize) {
    let bytes = bundle.encode_to_vec();
    let status = bundle.status.as_ref().unwrap();
    let proof = bundle.status_proof.as_ref().unwrap();
    let certifier = bundle.certifier.as_ref().unwrap();
    let certifier_proof = bundle.certifier_proof.as_ref().unwrap();
    let hashes = bundle.map_head_proof.len();
    let parts = bundle.scheme.len()
        + bundle.certificate_id.len()
        + bundle.entry.len()
        + bundle.map_head.len()
        + bundle.checkpoint.len()
        + 32 * hashes
        + status.encoded_len()
        + proof.encoded_len()
        + certifier.encoded_len()
        + certifier_proof.encoded_len();
    eprintln!(
        "bundle at tree size {size} ({} status-map keys, {quorum} cosignatures): {} bytes \
         (certificate entry {}, map head {}, checkpoint {}, map head inclusion proof {} hashes = {}, \
         status record {}, status proof {}: depth {}, {} siblings, certifier record {}, \
         certifier proof {}: depth {}, {} siblings, scheme and ID {}, protobuf framing {})",
        depths.keys(),
        bytes.len(),
        bundle.entry.len(),
        bundle.map_head.len(),
        bundle.checkpoint.len(),
        bundle.map_head_proof.len(),
        32 * hashes,
        status.encoded_len(),
        proof.encoded_len(),
        proof.depth,
        proof.siblings.len(),
        certifier.encoded_len(),
        certifier_proof.encoded_len(),
        certifier_proof.depth,
        certifier_proof.siblings.len(),
        bundle.scheme.len() + bundle.certificate_id.len(),
        bytes.len() - parts,
    );
}

fn bundles(c: &mut Criterion) {
    let keys = Keys::new();
    let s = statements(&keys);

    // The status maps: the certificate and its certifier, then other certificates up to
    // 10,000, 100,000 and 1,000,000 keys.
    let started = Instant::now();
    let mut map = MemoryMap::default();
    let mut update = MapUpdate::new(&map);
    for (key, value) in s.proven() {
        update.set(key, value);
    }
    let (_, changes) = update.finish().unwrap();
    map.apply(changes);
    grow(&mut map, 2..10_000);
    let map_10k = map.clone();
    grow(&mut map, 10_000..100_000);
    let map_100k = map.clone();
    grow(&mut map, 100_000..1_000_000);
    let map_1m = map;
    eprintln!(
        "status maps of 10,000, 100,000 and 1,000,000 keys built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let proven = |n: u64| -> BTreeSet<Hash> {
        s.proven()
            .map(|(key, _)| key)
            .into_iter()
            .chain(sampled(n))
            .collect()
    };
    // The map of 1,000,000 keys built as the one of 20,000,000 is: the same root and proofs.
    let (sparse_1m, _) = sparse_map(&all_keys(&s, 1_000_000), &proven(1_000_000));
    assert_eq!(sparse_1m.root(), map_1m.root());
    for key in &proven(1_000_000) {
        assert_eq!(
            prove(&sparse_1m, key).unwrap(),
            prove(&map_1m, key).unwrap()
        );
    }
    drop(sparse_1m);
    let started = Instant::now();
    let (map_20m, depths_20m) = sparse_map(&all_keys(&s, 20_000_000), &proven(20_000_000));
    eprintln!(
        "status map of 20,000,000 keys hashed in {:.1} s, {} of its nodes kept",
        started.elapsed().as_secs_f64(),
        map_20m.0.len()
    );

    let log_key = keys.log.verifier_key();
    let witnesses: Vec<VerifierKey> = keys.witnesses.iter().map(|w| w.verifier_key()).collect();
    let plain = Policy {
        log_key: &log_key,
        witnesses: &[],
        quorum: 0,
    };
    let witnessed = Policy {
        witnesses: &witnesses,
        quorum: 2,
        ..plain
    };
    let options = Options {
        now: NOW,
        max_age: Some(86_400),
        firmware_sha256: Some(hex32(FIRMWARE).try_into().unwrap()),
        trusted: None,
    };

    let expected = Expected::new("EUCC", "EUCC-3095-2026-11-0042");
    let mut group = c.benchmark_group("verify_bundle");
    for (size, map, depths) in [
        (10_000u64, &map_10k, Depths::of(&map_10k)),
        (1_000_000, &map_1m, Depths::of(&map_1m)),
        (20_000_000, &map_20m, depths_20m),
    ] {
        eprintln!("status map of {size}: {}", depths.summary());
        let sizes = proof_sizes(map, size);
        for (policy, cosigned) in [(&plain, false), (&witnessed, true)] {
            let bundle = build_bundle(&keys, &s, size, map, cosigned);
            let bytes = bundle.encode_to_vec();
            let verified = verify_bundle(&bytes, policy, &expected, &options).unwrap();
            assert_eq!(verified.standing, Standing::Active);
            assert_eq!(verified.cosignatures.len(), policy.quorum);
            print_bundle(size, &depths, &bundle, policy.quorum);
            print_typical(&bundle, &sizes);
            print_cpu_per_run(
                &format!("verify_bundle at size {size}, quorum {}", policy.quorum),
                2_000,
                || verify_bundle(&bytes, policy, &expected, &options),
            );
            let name = match policy.quorum {
                0 => format!("size={size}"),
                quorum => format!("size={size}/quorum={quorum}"),
            };
            group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
                b.iter(|| {
                    verify_bundle(
                        black_box(bytes),
                        black_box(policy),
                        black_box(&expected),
                        black_box(&options),
                    )
                })
            });
            if cosigned || size != 10_000 {
                continue;
            }
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
        }
    }
    group.finish();
    drop(map_20m);

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

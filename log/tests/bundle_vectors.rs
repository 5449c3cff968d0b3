//! The shared proof-bundle vectors (`verifier/tests/vectors/bundles/`): one set of bundles and
//! the answer each must get, which every build of the verifier checks: the native one
//! (`verifier/tests/bundle_vectors.rs`), the C API, the WebAssembly build under node and the
//! Cortex-M firmware under QEMU (docs/trust.md, "The question a bundle answers"). They are made
//! here, where the log's rules are.
//!
//! The vectors' log, made here with fixed keys and the log's own rules, in three batches:
//!
//! | batch (map head time) | entries |
//! |---|---|
//! | 1 (`NOW` - 3600) | two certifiers registered (0, 1); certificates issued: active (2), to be revoked (3), suspended (4), withdrawn (5), expired (6), revoked by the operator (7); map head (8) |
//! | 2 (`NOW` - 1800) | the changes: revoked (9), suspended (10), withdrawn (11), revoked by the operator (12); map head (13) |
//! | 3 (`NOW` - 600) | the second certifier issues a certificate (14) and is retired as compromised since the batch's time (15); map head (16) |
//!
//! The checkpoint of the 17 entries is cosigned by two witnesses. Each case names a bundle, the
//! question asked (identity, keys, time, freshness, firmware, trusted tree) and the answer: the
//! standing's name, or `invalid` for a bundle that must not verify. The bundles that must not
//! verify include one of each kind of one-byte change the end-to-end tests make.
//!
//! `cargo test -p certlog-log --test bundle_vectors -- --ignored` writes the vectors again; the
//! other test checks that the files are the ones this file makes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../verifier/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use certlog_log::rules::{MemoryState, check_entry};
use certlog_verifier::certificate::{
    certifier_key, certifier_record_hash, status_key, status_record_hash,
};
use certlog_verifier::cosignature::cosign;
use certlog_verifier::entry::{encode_entry, sign_statement};
use certlog_verifier::merkle::{Hash, consistency_proof, inclusion_proof};
use certlog_verifier::proto::{
    Certificate, CertificateStatus, CertifierRegistered, CertifierRetired, Digest, Entry, MapHead,
    Product, ProofBundle, StatusChanged, entry, statement,
};
use certlog_verifier::status_map::{MapUpdate, MemoryMap, prove};
use certlog_verifier::{Checkpoint, KeyType, SigningKey, VerifierKey};
use common::MemoryTree;
use prost::Message as _;
use serde_json::{Value, json};

/// The verifiers' clock.
const NOW: i64 = 1_800_000_000;
/// The SHA-256 of the firmware the active certificate lists.
const FIRMWARE: [u8; 32] = [0xf1; 32];
const LOG: &str = "vectors.example/log";
const CERTIFIER: &str = "cb.vectors.example";
const STOLEN: &str = "stolen.vectors.example";

fn key(name: &str, key_type: KeyType, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, key_type, &[seed; 32]).unwrap()
}

struct Keys {
    log: SigningKey,
    operator: SigningKey,
    certifier: SigningKey,
    stolen: SigningKey,
    witnesses: [SigningKey; 2],
}

fn keys() -> Keys {
    Keys {
        log: key(LOG, KeyType::Ed25519, 31),
        operator: key("vectors.example/operator", KeyType::Ed25519, 32),
        certifier: key(CERTIFIER, KeyType::Ed25519, 33),
        stolen: key(STOLEN, KeyType::Ed25519, 34),
        witnesses: [
            key("w1.vectors.example", KeyType::CosignatureV1, 35),
            key("w2.vectors.example", KeyType::CosignatureV1, 36),
        ],
    }
}

fn signed(key: &SigningKey, body: statement::Body) -> Vec<u8> {
    encode_entry(sign_statement(key, body).unwrap())
}

fn certificate(id: &str, not_after: i64) -> statement::Body {
    statement::Body::CertificateIssued(Certificate {
        scheme: "EUCC".into(),
        certificate_id: id.into(),
        product: Some(Product {
            vendor: "Vector Devices".into(),
            name: format!("Product {id}"),
            firmware_digests: vec![Digest {
                alg: "sha256".into(),
                digest: FIRMWARE.to_vec(),
            }],
            ..Product::default()
        }),
        issued_at: NOW - 2_000_000,
        not_before: NOW - 2_000_000,
        not_after,
        ..Certificate::default()
    })
}

fn change(id: &str, issued: u64, status: CertificateStatus) -> StatusChanged {
    StatusChanged {
        scheme: "EUCC".into(),
        certificate_id: id.into(),
        issued_index: issued,
        previous_index: issued,
        status: status.into(),
        reason: format!("{} for the vectors", status.as_str_name()),
        effective_at: NOW - 1_800,
    }
}

/// The vectors' log: its entries, state and status map, batch by batch.
#[derive(Default)]
struct Log {
    entries: Vec<Vec<u8>>,
    state: MemoryState,
    map: MemoryMap,
}

impl Log {
    fn batch(&mut self, operator: &VerifierKey, statements: Vec<Vec<u8>>, time: i64) {
        for bytes in statements {
            let index = self.entries.len() as u64;
            let change = check_entry(&bytes, index, operator, &self.state).unwrap();
            self.state.record(change);
            self.entries.push(bytes);
        }
        let empty = MemoryMap::default();
        let mut update = MapUpdate::new(&empty);
        for (key, record) in &self.state.statuses {
            update.set(*key, status_record_hash(record));
        }
        for (name, record) in &self.state.certifiers {
            update.set(certifier_key(name), certifier_record_hash(record));
        }
        let Ok((root, changes)) = update.finish();
        self.map = MemoryMap::default();
        self.map.apply(changes);
        let index = self.entries.len() as u64;
        let head = Entry {
            body: Some(entry::Body::MapHead(MapHead {
                root: root.0.to_vec(),
                tree_size: index,
                timestamp: time,
            })),
        };
        self.entries.push(head.encode_to_vec());
        self.state.record_map_head(index, time);
    }
}

fn the_log(k: &Keys) -> Log {
    use CertificateStatus::*;
    let operator = k.operator.verifier_key();
    let register = |certifier: &SigningKey| {
        signed(
            &k.operator,
            statement::Body::CertifierRegistered(CertifierRegistered {
                vkey: certifier.verifier_key().to_string(),
                schemes: vec!["EUCC".into()],
                registered_at: NOW - 3_000_000,
            }),
        )
    };
    let by_certifier = |c: StatusChanged| signed(&k.certifier, statement::Body::StatusChanged(c));
    let mut log = Log::default();
    log.batch(
        &operator,
        vec![
            register(&k.certifier),
            register(&k.stolen),
            signed(&k.certifier, certificate("VEC-ACTIVE", NOW + 1_000_000)),
            signed(&k.certifier, certificate("VEC-REVOKED", NOW + 1_000_000)),
            signed(&k.certifier, certificate("VEC-SUSPENDED", NOW + 1_000_000)),
            signed(&k.certifier, certificate("VEC-WITHDRAWN", NOW + 1_000_000)),
            signed(&k.certifier, certificate("VEC-EXPIRED", NOW - 1_000)),
            signed(&k.certifier, certificate("VEC-OPERATOR", NOW + 1_000_000)),
        ],
        NOW - 3_600,
    );
    log.batch(
        &operator,
        vec![
            by_certifier(change("VEC-REVOKED", 3, Revoked)),
            by_certifier(change("VEC-SUSPENDED", 4, Suspended)),
            by_certifier(change("VEC-WITHDRAWN", 5, Withdrawn)),
            signed(
                &k.operator,
                statement::Body::OperatorStatusChanged(change("VEC-OPERATOR", 7, Revoked)),
            ),
        ],
        NOW - 1_800,
    );
    log.batch(
        &operator,
        vec![
            signed(&k.stolen, certificate("VEC-COMPROMISED", NOW + 1_000_000)),
            signed(
                &k.operator,
                statement::Body::CertifierRetired(CertifierRetired {
                    name: STOLEN.into(),
                    reason: "signing key stolen".into(),
                    retired_at: NOW - 700,
                    compromised_since: NOW - 600,
                }),
            ),
        ],
        NOW - 600,
    );
    log
}

fn raw(proof: &[Hash]) -> Vec<Vec<u8>> {
    proof.iter().map(|h| h.0.to_vec()).collect()
}

/// The bundle of certificate `id`, against the cosigned checkpoint of the whole log, with a
/// consistency proof from `since` when it is not 0.
fn bundle(log: &Log, tree: &MemoryTree, checkpoint: &str, id: &str, since: u64) -> ProofBundle {
    let size = tree.size();
    let head = size - 1;
    let key = status_key("EUCC", id);
    let mut b = ProofBundle {
        scheme: "EUCC".into(),
        certificate_id: id.into(),
        checkpoint: checkpoint.into(),
        map_head_index: head,
        map_head: log.entries[head as usize].clone(),
        map_head_proof: raw(&inclusion_proof(head, size, tree).unwrap()),
        status_proof: Some(prove(&log.map, &key).unwrap().proof),
        ..ProofBundle::default()
    };
    if let Some(record) = log.state.statuses.get(&key) {
        b.entry_index = record.issued_index;
        b.entry = log.entries[record.issued_index as usize].clone();
        b.certifier = Some(log.state.certifiers[&record.certifier].clone());
        b.certifier_proof = Some(
            prove(&log.map, &certifier_key(&record.certifier))
                .unwrap()
                .proof,
        );
        b.status = Some(record.clone());
    }
    if since > 0 {
        b.consistency_from = since;
        b.consistency_proof = raw(&consistency_proof(since, size, tree).unwrap());
    }
    b
}

/// One case: a bundle, the question asked and the answer.
struct Case {
    name: String,
    bundle: Vec<u8>,
    question: Value,
    expect: &'static str,
}

/// The question of a case, as the manifest writes it: the active certificate's unless changed.
fn question(changes: Value) -> Value {
    let mut q = json!({
        "scheme": "EUCC", "certificate_id": "VEC-ACTIVE", "certifier": null,
        "firmware_sha256": null, "now": NOW, "max_age": null, "quorum": 0, "trusted": null,
    });
    for (k, v) in changes.as_object().unwrap() {
        q[k] = v.clone();
    }
    q
}

/// Every case, in order.
fn cases() -> (Keys, Vec<Case>) {
    let k = keys();
    let log = the_log(&k);
    let tree = MemoryTree::from_entries(log.entries.iter().map(Vec::as_slice));
    let mut signed = Checkpoint::new(LOG, tree.size(), tree.range.root())
        .sign(&k.log)
        .unwrap();
    let text = signed.note.text().to_string();
    for (i, w) in k.witnesses.iter().enumerate() {
        let time = (NOW - 500) as u64 + i as u64;
        signed.note.add_signature(cosign(w, &text, time).unwrap());
    }
    let checkpoint = signed.to_text();
    let of = |id: &str| bundle(&log, &tree, &checkpoint, id, 0).encode_to_vec();
    let mut cases = Vec::new();
    let mut add = |name: &str, bundle: Vec<u8>, changes: Value, expect| {
        cases.push(Case {
            name: name.into(),
            bundle,
            question: question(changes),
            expect,
        })
    };

    // The standings.
    let active = of("VEC-ACTIVE");
    let hex_firmware = hex::encode(FIRMWARE);
    add("active", active.clone(), json!({}), "active");
    add(
        "active-as-a-device-asks",
        active.clone(),
        json!({"certifier": CERTIFIER, "firmware_sha256": hex_firmware, "max_age": 3_600, "quorum": 2}),
        "active",
    );
    for (name, id, expect) in [
        ("revoked", "VEC-REVOKED", "revoked"),
        ("suspended", "VEC-SUSPENDED", "suspended"),
        ("withdrawn", "VEC-WITHDRAWN", "withdrawn"),
        ("expired", "VEC-EXPIRED", "expired"),
        ("revoked-by-the-operator", "VEC-OPERATOR", "revoked"),
        (
            "issued-by-a-compromised-certifier",
            "VEC-COMPROMISED",
            "revoked: certifier compromised",
        ),
        ("absent", "VEC-NEVER", "absent"),
    ] {
        add(name, of(id), json!({ "certificate_id": id }), expect);
    }
    // Before its validity: the clock 25 days before its not_before.
    add(
        "not-yet-valid",
        active.clone(),
        json!({"now": NOW - 4_200_000}),
        "not yet valid",
    );
    // A device that trusted the log's first batch moves forward with a consistency proof.
    let first = MemoryTree::from_entries(log.entries[..9].iter().map(Vec::as_slice));
    let trusted = json!({"size": 9, "root": first.range.root().to_base64()});
    add(
        "active-since-a-trusted-tree",
        bundle(&log, &tree, &checkpoint, "VEC-ACTIVE", 9).encode_to_vec(),
        json!({ "trusted": trusted }),
        "active",
    );

    // Questions the bundle does not answer.
    for (name, changes) in [
        ("another-scheme", json!({"scheme": "Matter"})),
        ("another-id", json!({"certificate_id": "VEC-REVOKED"})),
        (
            "an-id-with-an-invisible-character",
            json!({"certificate_id": "VEC-ACTIVE\u{200B}"}),
        ),
        ("another-certifier", json!({"certifier": STOLEN})),
        (
            "firmware-not-listed",
            json!({"firmware_sha256": hex::encode([0u8; 32])}),
        ),
        ("stale", json!({"max_age": 60})),
        ("more-cosignatures-than-it-has", json!({"quorum": 3})),
        (
            "no-consistency-proof-from-the-trusted-tree",
            json!({"trusted": trusted}),
        ),
        (
            "rollback",
            json!({"trusted": {"size": 18, "root": tree.range.root().to_base64()}}),
        ),
    ] {
        add(name, active.clone(), changes, "invalid");
    }

    // One-byte changes of each kind the end-to-end tests make, to the active bundle.
    let decoded = ProofBundle::decode(&active[..]).unwrap();
    type Change = fn(&mut ProofBundle);
    let changes: [(&str, Change); 13] = [
        ("entry", |b| {
            let at = b.entry.len() - 3;
            b.entry[at] ^= 1
        }),
        ("status-reason", |b| {
            b.status.as_mut().unwrap().reason.push('x')
        }),
        ("status", |b| b.status.as_mut().unwrap().status = 2),
        ("status-entry-hash", |b| {
            b.status.as_mut().unwrap().entry_hash[7] ^= 1
        }),
        ("status-proof", |b| {
            b.status_proof.as_mut().unwrap().siblings[0][0] ^= 1
        }),
        ("map-head", |b| {
            let at = b.map_head.len() - 1;
            b.map_head[at] ^= 1
        }),
        ("map-head-proof", |b| b.map_head_proof[0][31] ^= 1),
        ("checkpoint-root", |b| {
            let lines: Vec<String> = b.checkpoint.lines().map(String::from).collect();
            let root = &lines[2];
            let changed = format!(
                "{}{}",
                if root.starts_with('A') { "B" } else { "A" },
                &root[1..]
            );
            b.checkpoint = b.checkpoint.replacen(root.as_str(), &changed, 1);
        }),
        ("cosignature", |b| {
            // A character within the last signature line's base64 (clear of its padding).
            let at = b.checkpoint.len() - 22;
            let mut bytes = b.checkpoint.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            b.checkpoint = String::from_utf8(bytes).unwrap();
        }),
        ("certificate-id", |b| b.certificate_id.push('X')),
        ("certifier-schemes", |b| {
            b.certifier.as_mut().unwrap().schemes.push("Matter".into())
        }),
        ("certifier-key-index", |b| {
            b.certifier.as_mut().unwrap().key_index += 1
        }),
        ("certifier-proof", |b| {
            b.certifier_proof.as_mut().unwrap().siblings[0][3] ^= 1
        }),
    ];
    for (what, change) in changes {
        let mut b = decoded.clone();
        change(&mut b);
        let quorum = if what == "cosignature" { 2 } else { 0 };
        add(
            &format!("changed-{what}"),
            b.encode_to_vec(),
            json!({"quorum": quorum}),
            "invalid",
        );
    }
    (k, cases)
}

fn dir() -> PathBuf {
    common::vectors_dir().join("bundles")
}

/// The manifest of the cases, as written to `manifest.json`.
fn manifest(k: &Keys, cases: &[Case]) -> String {
    let cases: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut entry = json!({"name": c.name, "file": format!("{}.bundle", c.name)});
            for (key, value) in c.question.as_object().unwrap() {
                entry[key] = value.clone();
            }
            entry["expect"] = c.expect.into();
            entry
        })
        .collect();
    let manifest = json!({
        "about": "Proof bundles and the answer each must get (made by log/tests/bundle_vectors.rs).",
        "log_vkey": k.log.verifier_key().to_string(),
        "witness_vkeys": k.witnesses.iter().map(|w| w.verifier_key().to_string()).collect::<Vec<_>>(),
        "cases": cases,
    });
    serde_json::to_string_pretty(&manifest).unwrap() + "\n"
}

/// The files of the vectors: name and bytes.
fn files() -> BTreeMap<String, Vec<u8>> {
    let (k, cases) = cases();
    let mut files = BTreeMap::new();
    files.insert(
        "manifest.json".to_string(),
        manifest(&k, &cases).into_bytes(),
    );
    for case in cases {
        files.insert(format!("{}.bundle", case.name), case.bundle);
    }
    files
}

#[test]
#[ignore = "writes the vectors: run it after changing them"]
fn write_the_vectors() {
    let dir = dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files() {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn the_vectors_on_disk_are_the_ones_made_here() {
    let made = files();
    let mut on_disk = BTreeMap::new();
    for entry in fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        on_disk.insert(name, fs::read(&path).unwrap());
    }
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        made.keys().collect::<Vec<_>>(),
        "run `cargo test -p certlog-log --test bundle_vectors -- --ignored`"
    );
    for (name, bytes) in &made {
        assert!(
            on_disk[name] == *bytes,
            "{name} differs: write the vectors again"
        );
    }
}

//! What a verifier spends its time on: RFC 6962 proof checks in a tree of a million leaves, a
//! signed checkpoint check, the signed-note parser alone, and statement signatures checked one
//! by one (`verify_bytes`, what the log does, which accepts what `verify_strict` accepts; with
//! and without the key's tables, `VerifierKey::precompute`) against ed25519-dalek's `verify_batch`, bare and with the subgroup checks that would make it
//! accept exactly what `verify_strict` accepts (see tests/strict_verification.rs for why the log
//! does not use it).
//!
//! Run with `cargo bench -p certlog-verifier --bench verify`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::Verifier as _;

use certlog_verifier::merkle::{
    CompactRange, Hash, HashReader, NodeId, consistency_proof, inclusion_proof, leaf_hash,
    tree_root, verify_consistency, verify_inclusion,
};
use certlog_verifier::{Checkpoint, KeyType, Note, SignedCheckpoint, SigningKey};

const SIZE: u64 = 1_000_000;

/// Every stored subtree hash of a tree, level by level, in index order: what a log keeps.
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn with_leaves(size: u64) -> Levels {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut range = CompactRange::new();
        for i in 0..size {
            range.append(leaf_hash(&i.to_be_bytes()), |node, hash| {
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

fn proofs(c: &mut Criterion) {
    let tree = Levels::with_leaves(SIZE);
    let root = tree_root(SIZE, &tree).unwrap();

    let index: u64 = 123_456;
    let leaf = leaf_hash(&index.to_be_bytes());
    let proof = inclusion_proof(index, SIZE, &tree).unwrap();
    verify_inclusion(&leaf, index, SIZE, &proof, &root).unwrap();
    c.bench_function("verify_inclusion/size=1000000", |b| {
        b.iter(|| {
            verify_inclusion(
                black_box(&leaf),
                black_box(index),
                black_box(SIZE),
                black_box(&proof),
                black_box(&root),
            )
        })
    });

    for size1 in [999_000, 500_001] {
        let root1 = tree_root(size1, &tree).unwrap();
        let proof = consistency_proof(size1, SIZE, &tree).unwrap();
        verify_consistency(size1, SIZE, &root1, &root, &proof).unwrap();
        c.bench_function(&format!("verify_consistency/{size1}->{SIZE}"), |b| {
            b.iter(|| {
                verify_consistency(
                    black_box(size1),
                    black_box(SIZE),
                    black_box(&root1),
                    black_box(&root),
                    black_box(&proof),
                )
            })
        });
    }

    c.bench_function("inclusion_proof/generate/size=1000000", |b| {
        b.iter(|| inclusion_proof(black_box(index), black_box(SIZE), &tree))
    });
}

fn checkpoints(c: &mut Criterion) {
    let origin = "certlog.example/log";
    let key = SigningKey::from_seed(origin, KeyType::Ed25519, &[7; 32]).unwrap();
    let vkey = key.verifier_key();
    let root = leaf_hash(b"root");
    let signed = Checkpoint::new(origin, SIZE, root)
        .sign(&key)
        .unwrap()
        .to_text();
    let bytes = signed.as_bytes();
    SignedCheckpoint::verify(bytes, &vkey).unwrap();

    c.bench_function("SignedCheckpoint::verify", |b| {
        b.iter(|| SignedCheckpoint::verify(black_box(bytes), black_box(&vkey)))
    });
    c.bench_function("Note::parse", |b| b.iter(|| Note::parse(black_box(bytes))));

    // The signature check alone: the log's (`verify_bytes`, which accepts what `verify_strict`
    // accepts), ed25519-dalek's `verify_strict`, and its plain `verify`, for comparison.
    let text = Checkpoint::new(origin, SIZE, root).to_text();
    let signature = key.sign_bytes(text.as_bytes());
    assert!(vkey.verify_bytes(text.as_bytes(), &signature));
    c.bench_function("ed25519/verify_bytes", |b| {
        b.iter(|| vkey.verify_bytes(black_box(text.as_bytes()), black_box(&signature)))
    });
    let mut precomputed = vkey.clone();
    c.bench_function("ed25519/precompute", |b| {
        b.iter(|| black_box(vkey.clone()).precompute())
    });
    precomputed.precompute();
    assert!(precomputed.verify_bytes(text.as_bytes(), &signature));
    c.bench_function("ed25519/verify_bytes with tables", |b| {
        b.iter(|| precomputed.verify_bytes(black_box(text.as_bytes()), black_box(&signature)))
    });
    let dalek_signature = ed25519_dalek::Signature::from_bytes(&signature);
    c.bench_function("ed25519/verify_strict", |b| {
        b.iter(|| {
            vkey.public_key()
                .verify_strict(black_box(text.as_bytes()), black_box(&dalek_signature))
        })
    });
    c.bench_function("ed25519/verify", |b| {
        b.iter(|| {
            vkey.public_key()
                .verify(black_box(text.as_bytes()), black_box(&dalek_signature))
        })
    });
}

/// `verify_batch` over signatures whose R is first checked as `verify_strict` would check it
/// (canonical, not of small order) and also torsion-free, the check that closes the gap between
/// the batch equation and the strict one (the key's is checked once, as a log could per key).
fn batch_with_subgroup_checks(
    messages: &[&[u8]],
    signatures: &[ed25519_dalek::Signature],
    keys: &[ed25519_dalek::VerifyingKey],
) -> bool {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let strict_r = signatures.iter().all(|s| {
        let r = CompressedEdwardsY(*s.r_bytes());
        r.decompress()
            .is_some_and(|p| p.compress() == r && !p.is_small_order() && p.is_torsion_free())
    });
    strict_r && ed25519_dalek::verify_batch(messages, signatures, keys).is_ok()
}

fn statement_signatures(c: &mut Criterion) {
    let key = SigningKey::from_seed("cb.example", KeyType::Ed25519, &[9; 32]).unwrap();
    let vkey = key.verifier_key();
    for n in [64usize, 256] {
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("certlog statement {i:04}: {}", "x".repeat(400)).into_bytes())
            .collect();
        let signatures: Vec<[u8; 64]> = messages.iter().map(|m| key.sign_bytes(m)).collect();
        let dalek: Vec<_> = signatures
            .iter()
            .map(ed25519_dalek::Signature::from_bytes)
            .collect();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let keys = vec![*vkey.public_key(); n];
        let mut group = c.benchmark_group(format!("statements/{n}"));
        group.throughput(criterion::Throughput::Elements(n as u64));
        group.bench_function("verify_bytes each", |b| {
            b.iter(|| {
                refs.iter()
                    .zip(&signatures)
                    .all(|(m, s)| vkey.verify_bytes(black_box(m), black_box(s)))
            })
        });
        let mut precomputed = vkey.clone();
        precomputed.precompute();
        group.bench_function("verify_bytes each, with tables", |b| {
            b.iter(|| {
                refs.iter()
                    .zip(&signatures)
                    .all(|(m, s)| precomputed.verify_bytes(black_box(m), black_box(s)))
            })
        });
        group.bench_function("verify_batch", |b| {
            b.iter(|| ed25519_dalek::verify_batch(black_box(&refs), black_box(&dalek), &keys))
        });
        group.bench_function("verify_batch + subgroup checks", |b| {
            b.iter(|| batch_with_subgroup_checks(black_box(&refs), black_box(&dalek), &keys))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = proofs, checkpoints, statement_signatures
}
criterion_main!(benches);

//! The seed corpora of the fuzz targets (`verifier/fuzz`), made from real data: the fixtures'
//! log (`verifier/fuzz/src/lib.rs`, included here) signed with the keys the targets check with.
//!
//! `seeds_are_what_the_targets_expect` checks on every run that the seeds get through the checks
//! they are meant to reach; `write_seeds` (ignored) writes them to `verifier/fuzz/corpus/`:
//! `cargo test -p certlog-verifier --test fuzz_seeds -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../fuzz/src/lib.rs"]
mod fixtures;

use std::fs;
use std::path::PathBuf;

use prost::Message as _;

use certlog_verifier::bundle::{BundleError, Expected, Options, Policy, Standing, verify_bundle};
use certlog_verifier::certificate::status_key;
use certlog_verifier::cosignature::cosign;
use certlog_verifier::entry::{encode_entry, sign_statement};
use certlog_verifier::entry_bundle::encode_entry_bundle;
use certlog_verifier::evidence::{self, EvidenceError, Misbehaviour, Observation};
use certlog_verifier::merkle::{
    Hash, consistency_proof, full_consistency_proof, inclusion_proof, leaf_hash,
};
use certlog_verifier::proto::{ProofBundle, statement};
use certlog_verifier::replay::ReplayError;
use certlog_verifier::status_map::prove;
use certlog_verifier::tiles::TileId;
use certlog_verifier::tlog_proof::TlogProof;
use certlog_verifier::witness::{self, AddCheckpoint, format_cosignatures, format_size_body};
use certlog_verifier::{Checkpoint, SignedCheckpoint};
use common::MemoryTree;
use fixtures::{CERTIFICATE_ID, FIRMWARE, LOG, NOW, SCHEME, keys, log, trusted};

/// One seed: the target, a name, the bytes.
type Seed = (&'static str, &'static str, Vec<u8>);

fn tree(entries: &[Vec<u8>]) -> MemoryTree {
    MemoryTree::from_entries(entries.iter().map(Vec::as_slice))
}

/// The fixtures' log signed at its full size, cosigned by both witnesses.
fn cosigned(tree: &MemoryTree) -> SignedCheckpoint {
    let k = keys();
    let mut signed = Checkpoint::new(LOG, tree.size(), tree.range.root())
        .sign(&k.log)
        .unwrap();
    let text = signed.note.text().to_string();
    for (i, w) in k.witnesses.iter().enumerate() {
        signed
            .note
            .add_signature(cosign(w, &text, NOW as u64 - 30 + i as u64).unwrap());
    }
    signed
}

fn raw(proof: &[Hash]) -> Vec<Vec<u8>> {
    proof.iter().map(|h| h.0.to_vec()).collect()
}

/// The bundle of the fixtures' certificate, with a consistency proof from [`trusted`].
fn bundle(tree: &MemoryTree, checkpoint: &SignedCheckpoint) -> ProofBundle {
    let l = log();
    let size = tree.size();
    let proof = |index: u64| raw(&inclusion_proof(index, size, tree).unwrap());
    let key = status_key(SCHEME, CERTIFICATE_ID);
    let record = l.state.statuses[&key].clone();
    let head = size - 1;
    ProofBundle {
        scheme: SCHEME.into(),
        certificate_id: CERTIFICATE_ID.into(),
        checkpoint: checkpoint.to_text(),
        entry_index: 3,
        entry: l.entries[3].clone(),
        entry_proof: proof(3),
        registration_index: 0,
        registration: l.entries[0].clone(),
        registration_proof: proof(0),
        status: Some(record),
        map_head_index: head,
        map_head: l.entries[head as usize].clone(),
        map_head_proof: proof(head),
        status_proof: Some(prove(&l.map, &key).unwrap().proof),
        consistency_from: trusted().size,
        consistency_proof: raw(&consistency_proof(trusted().size, size, tree).unwrap()),
    }
}

/// The same, for a certificate not in the log.
fn absent_bundle(tree: &MemoryTree, checkpoint: &SignedCheckpoint) -> ProofBundle {
    let key = status_key(SCHEME, "FUZZ-404");
    ProofBundle {
        certificate_id: "FUZZ-404".into(),
        entry_index: 0,
        entry: vec![],
        entry_proof: vec![],
        registration_index: 0,
        registration: vec![],
        registration_proof: vec![],
        status: None,
        status_proof: Some(prove(&log().map, &key).unwrap().proof),
        consistency_from: 0,
        consistency_proof: vec![],
        ..bundle(tree, checkpoint)
    }
}

/// The log's entries, then the certificate issued a second time: a rule violation.
fn violating_entries() -> Vec<Vec<u8>> {
    let mut entries = log().entries.clone();
    entries.push(encode_entry(
        sign_statement(
            &keys().certifier,
            statement::Body::CertificateIssued(fixtures::certificate()),
        )
        .unwrap(),
    ));
    entries
}

fn seeds() -> Vec<Seed> {
    let k = keys();
    let l = log();
    let t = tree(&l.entries);
    let size = t.size();
    let checkpoint = cosigned(&t);
    let old = Checkpoint::new(LOG, 3, trusted().root)
        .sign(&k.log)
        .unwrap();
    let mut seeds: Vec<Seed> = Vec::new();
    let mut add = |target, name, bytes: Vec<u8>| seeds.push((target, name, bytes));

    // Notes and checkpoints.
    let text = checkpoint.to_text().into_bytes();
    add("note", "cosigned-checkpoint", text.clone());
    add("note", "old-checkpoint", old.to_text().into_bytes());
    add("checkpoint", "cosigned", text.clone());
    add(
        "checkpoint",
        "text",
        checkpoint.note.text().as_bytes().to_vec(),
    );
    let mut extended = Checkpoint::new(LOG, size, t.range.root());
    extended.extensions.push("extension line".into());
    add(
        "checkpoint",
        "extension",
        extended.sign(&k.log).unwrap().to_text().into_bytes(),
    );

    // Tile paths and entry bundles.
    for (name, tile) in [
        ("level0", TileId::hashes(0, 1_234_067, 256)),
        ("partial", TileId::hashes(2, 7, 17)),
        ("entries", TileId::entries(999, 6)),
    ] {
        add("tile_path", name, tile.path().into_bytes());
    }
    let bundle_bytes = encode_entry_bundle(l.entries.iter().map(Vec::as_slice)).unwrap();
    add("entry_bundle", "log", bundle_bytes);

    // Entries.
    for (i, name) in [
        "register",
        "register-retired",
        "retire",
        "issue",
        "suspend",
        "map-head",
    ]
    .into_iter()
    .enumerate()
    {
        add("entry", name, l.entries[i].clone());
    }

    // Proof bundles.
    add(
        "bundle",
        "suspended",
        bundle(&t, &checkpoint).encode_to_vec(),
    );
    add(
        "bundle",
        "absent",
        absent_bundle(&t, &checkpoint).encode_to_vec(),
    );

    // Certificates in JSON.
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for name in ["eucc-camera", "matter-plug", "bad-dates"] {
        let json = fs::read(examples.join(format!("{name}.json"))).unwrap();
        add("certificate_json", name, json);
    }
    // A certificate as the log holds it, which the command lines write as JSON.
    add(
        "certificate_json",
        "protobuf",
        fixtures::certificate().encode_to_vec(),
    );

    // Witness requests and answers.
    let from_nothing = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: text.clone(),
    };
    add("witness_request", "from-nothing", from_nothing.to_bytes());
    let from_three = AddCheckpoint {
        old_size: 3,
        proof: consistency_proof(3, size, &t).unwrap(),
        checkpoint: old.to_text().into_bytes(),
    };
    add(
        "witness_request",
        "from-three",
        AddCheckpoint {
            checkpoint: text.clone(),
            ..from_three
        }
        .to_bytes(),
    );
    let cosignatures = &checkpoint.note.signatures()[1..];
    add(
        "cosignatures",
        "two",
        format_cosignatures(cosignatures).into_bytes(),
    );
    add("cosignatures", "size", format_size_body(size).into_bytes());

    // Evidence: a fork, a leaf mismatch, a rule violation.
    let mut forked_entries = l.entries[..4].to_vec();
    forked_entries.push(b"another entry".to_vec());
    forked_entries.extend_from_slice(&l.entries[4..]);
    let forked = tree(&forked_entries);
    let fork = evidence::fork(
        &cosigned(&forked),
        &checkpoint,
        &full_consistency_proof(size, forked.size(), &forked).unwrap(),
    );
    add("evidence", "fork", fork.encode_to_vec());
    let leaf = evidence::leaf_mismatch(
        &checkpoint,
        3,
        b"not the entry".to_vec(),
        &leaf_hash(&l.entries[3]),
        &inclusion_proof(3, size, &t).unwrap(),
    );
    add("evidence", "leaf-mismatch", leaf.encode_to_vec());
    let violating = violating_entries();
    let v = tree(&violating);
    let violation = evidence::rule_violation(
        &cosigned(&v),
        violating,
        &[],
        &k.operator_vkey,
        &ReplayError::MapHead {
            index: 0,
            reason: "the auditor's words".into(),
        },
    );
    add("evidence", "rule-violation", violation.encode_to_vec());

    // tlog-proof.
    let proof = TlogProof {
        extra: Some(b"fuzz".to_vec()),
        index: 3,
        proof: inclusion_proof(3, size, &t).unwrap(),
        checkpoint: checkpoint.to_text(),
    };
    add("tlog_proof", "issue", proof.to_text().into_bytes());

    // Keys.
    add("vkey", "log", k.log_vkey.to_string().into_bytes());
    add(
        "vkey",
        "witness",
        k.witness_vkeys[0].to_string().into_bytes(),
    );
    add(
        "vkey",
        "private",
        k.operator.to_private_string().into_bytes(),
    );
    seeds
}

fn seed<'a>(seeds: &'a [Seed], target: &str, name: &str) -> &'a [u8] {
    &seeds
        .iter()
        .find(|(t, n, _)| *t == target && *n == name)
        .unwrap()
        .2
}

#[test]
fn seeds_are_what_the_targets_expect() {
    let seeds = seeds();
    let k = keys();

    // A device with the fixtures' policy accepts the bundle: the suspended certificate.
    let policy = Policy {
        log_key: &k.log_vkey,
        witnesses: &k.witness_vkeys,
        quorum: 1,
    };
    let options = Options {
        now: NOW,
        max_age: Some(3600),
        firmware_sha256: Some(FIRMWARE),
        trusted: Some(trusted()),
    };
    let suspended = seed(&seeds, "bundle", "suspended");
    let expected = Expected::new(SCHEME, CERTIFICATE_ID);
    let verified = verify_bundle(suspended, &policy, &expected, &options).unwrap();
    assert_eq!(verified.standing, Standing::Suspended);
    // It answers for that certificate only.
    for other in [
        Expected::new(SCHEME, "FUZZ-404"),
        Expected::new("Matter", CERTIFICATE_ID),
        expected.certifier("retired.fuzz.example"),
    ] {
        let err = verify_bundle(suspended, &policy, &other, &options).unwrap_err();
        assert!(matches!(err, BundleError::OtherCertificate { .. }), "{err}");
    }
    let absent = verify_bundle(
        seed(&seeds, "bundle", "absent"),
        &policy,
        &Expected::new(SCHEME, "FUZZ-404"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(absent.standing, Standing::Absent);

    // The evidence confirms the fork and the rule violation (with the operator's key, which
    // it needs); the leaf mismatch is only an observation.
    let operator = Some(&k.operator_vkey);
    for (name, kind) in [("fork", "fork"), ("rule-violation", "rule_violation")] {
        let confirmed =
            evidence::check(seed(&seeds, "evidence", name), &k.log_vkey, operator).unwrap();
        assert_eq!(confirmed.misbehaviour.kind(), kind);
        if let Misbehaviour::RuleViolation { error, .. } = confirmed.misbehaviour {
            assert!(error.to_string().contains("already issued"), "{error}");
        }
    }
    let violation = seed(&seeds, "evidence", "rule-violation");
    assert_eq!(
        evidence::check(violation, &k.log_vkey, None),
        Err(EvidenceError::OperatorKeyRequired)
    );
    let leaf = evidence::check(
        seed(&seeds, "evidence", "leaf-mismatch"),
        &k.log_vkey,
        operator,
    );
    assert!(
        matches!(
            leaf,
            Err(EvidenceError::ObservationOnly(Observation::LeafMismatch {
                index: 3,
                ..
            }))
        ),
        "{leaf:?}"
    );

    // The witness cosigns both requests.
    let latest = witness::Witnessed {
        size: 3,
        root: trusted().root,
    };
    let request = AddCheckpoint::parse(seed(&seeds, "witness_request", "from-three")).unwrap();
    witness::check(&request, Some(&k.log_vkey), Some(&latest)).unwrap();
    let request = AddCheckpoint::parse(seed(&seeds, "witness_request", "from-nothing")).unwrap();
    witness::check(&request, Some(&k.log_vkey), None).unwrap();

    // The checkpoint carries both witnesses' cosignatures, which are the answer's lines.
    let signed =
        SignedCheckpoint::verify(seed(&seeds, "checkpoint", "cosigned"), &k.log_vkey).unwrap();
    assert_eq!(
        signed
            .verify_cosignatures(&k.witness_vkeys, 2)
            .unwrap()
            .len(),
        2
    );
    let body = std::str::from_utf8(seed(&seeds, "cosignatures", "two")).unwrap();
    let sigs = witness::parse_cosignatures(body).unwrap();
    assert_eq!(sigs, signed.note.signatures()[1..]);

    // Every seed is small.
    for (target, name, bytes) in &seeds {
        assert!(bytes.len() < 4096, "{target}/{name}: {} bytes", bytes.len());
    }
}

#[test]
#[ignore = "writes the seed corpora of verifier/fuzz"]
fn write_seeds() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, name, bytes) in seeds() {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

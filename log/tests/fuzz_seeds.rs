//! The seed corpora of the fuzz targets (`verifier/fuzz`), made from real data: the fixtures'
//! log (`verifier/fuzz/src/lib.rs`, included here) signed with the keys the targets check with.
//!
//! `seeds_are_what_the_targets_expect` checks on every run that the seeds get through the checks
//! they are meant to reach, and `corpus_holds_the_seeds` that `verifier/fuzz/corpus/` holds them
//! as they are made now; `write_seeds` (ignored) writes them there:
//! `cargo test -p certlog-log --test fuzz_seeds -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../verifier/tests/common/mod.rs"]
mod common;
#[path = "../../verifier/fuzz/src/lib.rs"]
mod fixtures;

use std::fs;
use std::path::PathBuf;

use prost::Message as _;

use certlog_log::entry_bundle::encode_entry_bundle;
use certlog_log::evidence::{self, EvidenceError, Misbehaviour, Observation};
use certlog_log::replay::{Replay, ReplayError};
use certlog_log::tiles::TileId;
use certlog_log::tlog_proof::TlogProof;
use certlog_log::witness::{self, AddCheckpoint, format_cosignatures, format_size_body};
use certlog_verifier::bundle::{BundleError, Expected, Options, Policy, Standing, verify_bundle};
use certlog_verifier::certificate::{certifier_key, certifier_record_hash, status_key};
use certlog_verifier::cosignature::cosign;
use certlog_verifier::entry::{encode_entry, sign_statement};
use certlog_verifier::merkle::{
    Hash, consistency_proof, full_consistency_proof, inclusion_proof, leaf_hash,
};
use certlog_verifier::proto::{CertificateStatus, ProofBundle, statement};
use certlog_verifier::status_map::prove;
use certlog_verifier::{Checkpoint, SignedCheckpoint};
use common::MemoryTree;
use fixtures::{
    CERTIFICATE_ID, CERTIFIER, COMPROMISED_ID, FIRMWARE, LOG, Log, NOW, SCHEME, compromised_log,
    keys, log, trusted,
};

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

/// The bundle of a certificate of a fixtures' log `l` (whose tree is `tree`), with a consistency
/// proof from [`trusted`]: the certificate's entry, its status record and its certifier's record,
/// both proven under the log's last map head.
fn bundle_of(
    l: &Log,
    certificate_id: &str,
    tree: &MemoryTree,
    checkpoint: &SignedCheckpoint,
) -> ProofBundle {
    let size = tree.size();
    let proof = |index: u64| raw(&inclusion_proof(index, size, tree).unwrap());
    let key = status_key(SCHEME, certificate_id);
    let record = l.state.statuses[&key].clone();
    let certifier = l.state.certifiers[&record.certifier].clone();
    let certifier_lookup = prove(&l.map, &certifier_key(&record.certifier)).unwrap();
    assert_eq!(
        certifier_lookup.value,
        Some(certifier_record_hash(&certifier))
    );
    let head = size - 1;
    ProofBundle {
        scheme: SCHEME.into(),
        certificate_id: certificate_id.into(),
        checkpoint: checkpoint.to_text(),
        entry_index: record.issued_index,
        entry: l.entries[record.issued_index as usize].clone(),
        certifier: Some(certifier),
        certifier_proof: Some(certifier_lookup.proof),
        status: Some(record),
        map_head_index: head,
        map_head: l.entries[head as usize].clone(),
        map_head_proof: proof(head),
        status_proof: Some(prove(&l.map, &key).unwrap().proof),
        consistency_from: trusted().size,
        consistency_proof: raw(&consistency_proof(trusted().size, size, tree).unwrap()),
    }
}

/// The bundle of the fixtures' certificate.
fn bundle(tree: &MemoryTree, checkpoint: &SignedCheckpoint) -> ProofBundle {
    bundle_of(log(), CERTIFICATE_ID, tree, checkpoint)
}

/// The same, for a certificate not in the log.
fn absent_bundle(tree: &MemoryTree, checkpoint: &SignedCheckpoint) -> ProofBundle {
    let key = status_key(SCHEME, "FUZZ-404");
    ProofBundle {
        certificate_id: "FUZZ-404".into(),
        entry_index: 0,
        entry: vec![],
        certifier: None,
        certifier_proof: None,
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

    // Entries: the log's, and the registry statements of its second batch (which apply to the
    // log's state as well: the entry target checks them against it).
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
    let c = compromised_log();
    add("entry", "rotate-key", c.entries[6].clone());
    add("entry", "retire-compromised", c.entries[8].clone());

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
    // From the log with its second batch: the certificate issued after its certifier's key
    // was compromised, and the first one, signed with the certifier's earlier key.
    let ct = tree(&c.entries);
    let c_checkpoint = cosigned(&ct);
    add(
        "bundle",
        "compromised",
        bundle_of(c, COMPROMISED_ID, &ct, &c_checkpoint).encode_to_vec(),
    );
    add(
        "bundle",
        "earlier-key",
        bundle_of(c, CERTIFICATE_ID, &ct, &c_checkpoint).encode_to_vec(),
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

    // After the second batch: the certificate issued once the certifier's key was compromised
    // stands revoked, whatever its status record says (active); the first one, signed with the
    // earlier key before the compromise, keeps its status.
    let compromised = verify_bundle(
        seed(&seeds, "bundle", "compromised"),
        &policy,
        &Expected::new(SCHEME, COMPROMISED_ID).certifier(CERTIFIER),
        &options,
    )
    .unwrap();
    assert_eq!(compromised.standing, Standing::CertifierCompromised);
    assert_eq!(
        compromised.record.unwrap().status(),
        CertificateStatus::Active
    );
    let certifier = compromised.certifier.unwrap();
    assert_eq!(certifier.compromised_index, Some(6));
    assert_eq!(certifier.retired_index, Some(8));
    assert_eq!(certifier.key_index, 6);
    assert_eq!(certifier.earlier_keys.len(), 1);
    let earlier = verify_bundle(
        seed(&seeds, "bundle", "earlier-key"),
        &policy,
        &expected,
        &options,
    )
    .unwrap();
    assert_eq!(earlier.standing, Standing::Suspended);
    assert_eq!(earlier.certifier.unwrap().earlier_keys[0].until_index, 6);

    // The fixtures' status maps are the ones an auditor's replay computes (the certifiers'
    // records beside the status records), map head by map head.
    let mut replay = Replay::new(k.operator_vkey.clone());
    for bytes in &compromised_log().entries {
        replay.apply(bytes).unwrap();
    }
    assert_eq!(replay.map_heads, 2);
    assert_eq!(replay.map_root(), compromised_log().map.root());

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

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../verifier/fuzz/corpus")
}

/// The seeds are deterministic (Ed25519 signatures, fixed times), so those in the corpus (which
/// `parsers.rs` mutates) are these, byte for byte, and no others.
#[test]
fn corpus_holds_the_seeds() {
    let seeds = seeds();
    let again = "write them again: cargo test -p certlog-log --test fuzz_seeds -- --ignored";
    for (target, name, bytes) in &seeds {
        let path = corpus_dir().join(target).join(format!("seed-{name}"));
        let stored = fs::read(&path).unwrap_or_default();
        assert!(stored == *bytes, "{} is stale: {again}", path.display());
    }
    for dir in fs::read_dir(corpus_dir()).unwrap() {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_str().unwrap().to_string();
        for file in fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().file_name().into_string().unwrap();
            let Some(name) = file.strip_prefix("seed-") else {
                continue;
            };
            assert!(
                seeds.iter().any(|(t, n, _)| *t == target && *n == name),
                "{target}/{file} is no seed any more: delete it"
            );
        }
    }
}

#[test]
#[ignore = "writes the seed corpora of verifier/fuzz"]
fn write_seeds() {
    let corpus = corpus_dir();
    for (target, name, bytes) in seeds() {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

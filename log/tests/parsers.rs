//! Property tests of the parsers on hostile input, the stable counterpart of the fuzz targets in
//! `verifier/fuzz`: no parser panics on arbitrary bytes; what is formatted parses back to the same
//! value; and a valid input mutated (a byte flipped or set, cut short, or bytes added) is either
//! refused or parses to something that formats back to it, and never passes a signature check
//! as something other than what was signed. The valid inputs are the fuzz targets' seeds
//! (`verifier/fuzz/corpus/*/seed-*`, checked by `fuzz_seeds.rs`), signed with the keys of
//! their fixtures, included here.
//!
//! The properties not covered here (notes, checkpoints, tile paths, entry bundles and keys on
//! arbitrary input, and their round trips) are in `properties.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../verifier/fuzz/src/lib.rs"]
mod fixtures;

use std::convert::Infallible;
use std::fs;
use std::path::PathBuf;

use proptest::collection::vec;
use proptest::prelude::*;

use certlog_log::entry_bundle::{encode_entry_bundle, parse_entry_bundle};
use certlog_log::evidence::{self, EvidenceError, Observation};
use certlog_log::rules::check_entry;
use certlog_log::tiles::{TileId, tile_hashes};
use certlog_log::tlog_proof::TlogProof;
use certlog_log::witness::{
    self, AddCheckpoint, Witnessed, format_cosignatures, format_size_body, parse_cosignatures,
    parse_size_body,
};
use certlog_verifier::bundle::{Expected, Options, Policy, Standing, Verified, verify_bundle};
use certlog_verifier::certificate::json::format_time;
use certlog_verifier::certificate::status_key;
use certlog_verifier::certificate::validate;
use certlog_verifier::entry::{decode_entry, signed_statement, verify_statement};
use certlog_verifier::merkle::Hash;
use certlog_verifier::note::NoteSignature;
use certlog_verifier::proto::{Certificate, ProofBundle};
use certlog_verifier::{Checkpoint, Note, SignedCheckpoint, SigningKey, VerifierKey};
use fixtures::{CERTIFICATE_ID, FIRMWARE, NOW, SCHEME, compromised_log, keys, log, trusted};
use prost::Message as _;

/// Cases for the properties that only parse.
fn parse_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Cases for the properties that check signatures or proofs.
fn verify_config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

/// The seeds of a fuzz target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../verifier/fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths.into_iter().map(|p| fs::read(p).unwrap()).collect()
}

/// A change to a valid input.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR a byte with a non-zero mask.
    Flip(usize, u8),
    /// Set a byte, to one that means something in the formats.
    Set(usize, u8),
    /// Cut the input to this length (modulo its length).
    Truncate(usize),
    /// Add bytes at the end.
    Append(Vec<u8>),
    /// Insert bytes, that mean something in the formats.
    Insert(usize, Vec<u8>),
}

impl Mutation {
    fn apply(&self, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match self {
            Mutation::Flip(i, mask) if !out.is_empty() => {
                let i = at(*i, out.len());
                out[i] ^= mask;
            }
            Mutation::Set(i, byte) if !out.is_empty() => {
                let i = at(*i, out.len());
                out[i] = *byte;
            }
            Mutation::Truncate(len) => out.truncate(at(*len, input.len())),
            Mutation::Append(bytes) => out.extend_from_slice(bytes),
            Mutation::Insert(i, bytes) => {
                let i = at(*i, out.len() + 1);
                out.splice(i..i, bytes.iter().copied());
            }
            _ => {}
        }
        out
    }
}

/// Bytes with a meaning in the text formats: separators, digits, base64, the em dash's UTF-8.
fn special_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![
        b'\n', b' ', b'0', b'1', b'9', b'+', b'/', b'=', b'A', b'x', b'.', b'p', b'{', b'"', 0,
        0x7f, 0xe2, 0x80, 0x94,
    ])
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), special_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
        (any::<usize>(), vec(special_byte(), 1..4)).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

/// A seed of `target` and a mutation of it: (original, mutated).
fn mutated(target: &str) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> + use<> {
    (prop::sample::select(seeds(target)), mutation()).prop_map(|(seed, m)| {
        let changed = m.apply(&seed);
        (seed, changed)
    })
}

/// A key name: no space, no '+'.
fn key_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./_\u{e9}-]{1,30}"
}

/// A signature line's parts (the signature bytes need not verify).
fn note_signature() -> impl Strategy<Value = NoteSignature> {
    (key_name(), any::<u32>(), vec(any::<u8>(), 1..80)).prop_map(|(name, key_id, signature)| {
        NoteSignature {
            name,
            key_id,
            signature,
        }
    })
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

/// A line of note text: no control characters.
fn text_line() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ./+=\u{2014}\u{e9}]{0,24}"
}

/// The fixtures' policy with its witnesses, and a device's options.
fn device() -> (Policy<'static>, Options) {
    let k = keys();
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
    (policy, options)
}

/// What a verified bundle says about its certificate.
fn shown(v: &Verified) -> impl PartialEq + std::fmt::Debug {
    (
        v.standing,
        v.scheme.clone(),
        v.certificate_id.clone(),
        v.certificate.clone(),
        v.record.clone(),
        v.certifier.clone(),
        v.checkpoint.checkpoint.clone(),
    )
}

/// The observation leaf-mismatch evidence gives.
fn leaf_observation(bytes: &[u8]) -> Observation {
    let k = keys();
    match evidence::check(bytes, &k.log_vkey, Some(&k.operator_vkey)) {
        Err(EvidenceError::ObservationOnly(observed)) => observed,
        other => panic!("not an observation: {other:?}"),
    }
}

/// What an observation shows from what the log signed: the index, the tree size and the
/// signed leaf hash (the bytes beside them are the auditor's).
fn signed_part(observed: &Observation) -> (u64, u64, Hash) {
    match observed {
        Observation::LeafMismatch {
            index,
            size,
            signed,
            ..
        } => (*index, *size, *signed),
    }
}

proptest! {
    #![proptest_config(parse_config())]

    // Arbitrary input: no panic.

    #[test]
    fn entries_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        if let Ok(entry) = decode_entry(&bytes) {
            prop_assert_eq!(entry.encode_to_vec(), bytes.clone());
        }
        let _ = check_entry(&bytes, 6, &keys().operator_vkey, &log().state);
    }

    #[test]
    fn bundles_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let (policy, options) = device();
        let expected = Expected::new(SCHEME, CERTIFICATE_ID);
        prop_assert!(verify_bundle(&bytes, &policy, &expected, &options).is_err());
    }

    #[test]
    fn certificate_json_never_panics(text in any::<String>(), json in "\\{\"[a-z_]{0,16}\": ?(\"[0-9TZ:-]{0,20}\"|[0-9]{0,4}|\\[\\]|\\{\\})\\}") {
        for text in [text, json] {
            if let Ok(c) = serde_json::from_str::<Certificate>(&text) {
                let _ = validate(&c);
            }
        }
    }

    #[test]
    fn witness_requests_never_panic(bytes in vec(any::<u8>(), 0..512), text in "old [0-9]{0,3}\n([A-Za-z0-9+/=]{0,45}\n){0,2}\n?[a-z.]{0,8}\n?") {
        for body in [bytes.as_slice(), text.as_bytes()] {
            if let Ok(request) = AddCheckpoint::parse(body) {
                prop_assert_eq!(request.to_bytes(), body);
                let _ = witness::origin(&request.checkpoint);
                let _ = witness::check(&request, Some(&keys().log_vkey), None);
            }
        }
    }

    #[test]
    fn witness_answers_never_panic(text in any::<String>(), lines in "(\u{2014} [a-z.]{0,8} [A-Za-z0-9+/=]{0,20}\n?){0,3}") {
        for body in [&text, &lines] {
            if let Ok(sigs) = parse_cosignatures(body) {
                prop_assert_eq!(&format_cosignatures(&sigs), body);
            }
            if let Some(size) = parse_size_body(body) {
                prop_assert_eq!(&format_size_body(size), body);
            }
        }
    }

    #[test]
    fn evidence_never_panics(bytes in vec(any::<u8>(), 0..512)) {
        let error = evidence::check(&bytes, &keys().log_vkey, None).unwrap_err();
        let _ = error.is_unreadable();
    }

    #[test]
    fn tlog_proofs_never_panic(text in any::<String>(), shaped in "c2sp.org/tlog-proof@v1\n(extra [A-Za-z0-9+/=]{0,8}\n)?(index [0-9]{0,3}\n)?([A-Za-z0-9+/=]{0,45}\n){0,2}\n?[a-z\n]{0,8}") {
        for text in [text, shaped] {
            if let Ok(proof) = TlogProof::parse(&text) {
                prop_assert_eq!(proof.to_text(), text);
            }
        }
    }

    #[test]
    fn tiles_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(hashes) = tile_hashes::<Infallible>(&bytes) {
            prop_assert_eq!(hashes.len() * 32, bytes.len());
        }
    }

    // Round trips: formatted, then parsed, the same value.

    #[test]
    fn notes_round_trip(
        lines in vec(text_line(), 1..5),
        sigs in vec(note_signature(), 1..5),
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut note = Note::new(text).unwrap();
        for sig in sigs {
            note.add_signature(sig);
        }
        prop_assert_eq!(Note::parse(note.to_text().as_bytes()), Ok(note));
    }

    #[test]
    fn checkpoints_with_extensions_round_trip(
        origin in "[a-zA-Z0-9./_\u{e9}-]{1,40}",
        size in any::<u64>(),
        root in hash(),
        extensions in vec("[ -~\u{e9}]{1,20}", 0..3),
    ) {
        let checkpoint = Checkpoint { origin, size, root, extensions };
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint));
    }

    #[test]
    fn add_checkpoint_requests_round_trip(
        old_size in any::<u64>(),
        proof in vec(hash(), 0..=witness::MAX_PROOF_LINES),
        checkpoint in vec(any::<u8>(), 0..200),
    ) {
        let request = AddCheckpoint { old_size, proof, checkpoint };
        prop_assert_eq!(AddCheckpoint::parse(&request.to_bytes()), Ok(request));
    }

    #[test]
    fn cosignature_lines_round_trip(
        sigs in vec(note_signature(), 1..16),
        size in any::<u64>(),
    ) {
        let body = format_cosignatures(&sigs);
        prop_assert_eq!(parse_cosignatures(&body), Ok(sigs.clone()));
        let line = sigs[0].to_line();
        prop_assert_eq!(NoteSignature::parse_line(line.trim_end_matches('\n')), Ok(sigs[0].clone()));
        prop_assert_eq!(parse_size_body(&format_size_body(size)), Some(size));
    }

    #[test]
    fn tlog_proofs_round_trip(
        extra in prop::option::of(vec(any::<u8>(), 0..40)),
        index in any::<u64>(),
        proof in vec(hash(), 0..20),
        checkpoint in any::<String>(),
    ) {
        let proof = TlogProof { extra, index, proof, checkpoint };
        prop_assert_eq!(TlogProof::parse(&proof.to_text()), Ok(proof));
    }

    // Mutations of valid input: refused, or parsed to what formats back to the same bytes.

    #[test]
    fn mutated_notes((_, bytes) in mutated("note")) {
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_text().into_bytes(), bytes);
        }
    }

    #[test]
    fn mutated_checkpoint_texts((_, bytes) in mutated("checkpoint")) {
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(checkpoint) = Checkpoint::parse(text)
        {
            prop_assert_eq!(checkpoint.to_text(), text);
        }
    }

    #[test]
    fn mutated_tile_paths((_, bytes) in mutated("tile_path")) {
        if let Ok(path) = std::str::from_utf8(&bytes)
            && let Ok(tile) = TileId::parse_path(path)
        {
            prop_assert_eq!(tile.path(), path);
        }
    }

    #[test]
    fn mutated_entry_bundles((_, bytes) in mutated("entry_bundle")) {
        if let Ok(entries) = parse_entry_bundle(&bytes) {
            prop_assert_eq!(encode_entry_bundle(entries).unwrap(), bytes);
        }
    }

    #[test]
    fn mutated_certificate_json((_, bytes) in mutated("certificate_json")) {
        if let Ok(c) = serde_json::from_slice::<Certificate>(&bytes) {
            let _ = validate(&c);
            let json = serde_json::to_string(&c).unwrap();
            prop_assert_eq!(serde_json::from_str::<Certificate>(&json).unwrap(), c);
        }
    }

    #[test]
    fn mutated_cosignature_lines((_, bytes) in mutated("cosignatures")) {
        if let Ok(body) = std::str::from_utf8(&bytes) {
            if let Ok(sigs) = parse_cosignatures(body) {
                prop_assert_eq!(format_cosignatures(&sigs), body);
            }
            if let Some(size) = parse_size_body(body) {
                prop_assert_eq!(format_size_body(size), body);
            }
        }
    }

    #[test]
    fn mutated_tlog_proofs((_, bytes) in mutated("tlog_proof")) {
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(proof) = TlogProof::parse(text)
        {
            prop_assert_eq!(proof.to_text(), text);
        }
    }

    #[test]
    fn mutated_keys((_, bytes) in mutated("vkey")) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(vkey) = text.parse::<VerifierKey>() {
                prop_assert_eq!(vkey.to_string().parse::<VerifierKey>(), Ok(vkey));
            }
            if let Ok(key) = SigningKey::from_private_string(text) {
                let again = SigningKey::from_private_string(&key.to_private_string()).unwrap();
                prop_assert_eq!(again.verifier_key(), key.verifier_key());
            }
        }
    }
}

proptest! {
    #![proptest_config(verify_config())]

    // Mutations of signed input: refused, or what was signed.

    #[test]
    fn mutated_signed_checkpoints((seed, bytes) in mutated("checkpoint")) {
        let key = &keys().log_vkey;
        if let Ok(opened) = SignedCheckpoint::verify(&bytes, key) {
            prop_assert_eq!(opened.to_text().into_bytes(), bytes);
            let original = SignedCheckpoint::verify(&seed, key).unwrap();
            prop_assert_eq!(opened.checkpoint, original.checkpoint);
        }
    }

    #[test]
    fn mutated_entries((seed, bytes) in mutated("entry")) {
        let k = keys();
        let _ = check_entry(&bytes, 6, &k.operator_vkey, &log().state);
        let Ok(entry) = decode_entry(&bytes) else {
            return Ok(());
        };
        prop_assert_eq!(entry.encode_to_vec(), bytes.clone());
        if let Some(signed) = signed_statement(&entry) {
            let signers = [&k.operator, &k.certifier, &k.rotated, &k.retired];
            if signers.iter().any(|s| verify_statement(signed, &s.verifier_key()).is_ok()) {
                prop_assert_eq!(bytes, seed);
            }
        }
    }

    #[test]
    fn mutated_bundles((seed, bytes) in mutated("bundle")) {
        let (policy, device) = device();
        // The question the seed answers: a mutation must answer it, or not verify.
        let asked = ProofBundle::decode(seed.as_slice()).unwrap();
        let expected = Expected::new(&asked.scheme, &asked.certificate_id);
        for options in [device, Options::default()] {
            let Ok(verified) = verify_bundle(&bytes, &policy, &expected, &options) else {
                continue;
            };
            prop_assert_eq!(
                (verified.scheme.as_str(), verified.certificate_id.as_str()),
                (expected.scheme, expected.certificate_id)
            );
            if verified.standing == Standing::Absent {
                // A proof of absence holds for every key on its path: another certificate
                // named, it must truly be absent from the log whose map head it was proven
                // under.
                let key = status_key(&verified.scheme, &verified.certificate_id);
                let root = verified.map_head.root.as_slice();
                let l = [log(), compromised_log()]
                    .into_iter()
                    .find(|l| l.map.root().0 == root);
                prop_assert!(l.is_some_and(|l| !l.state.statuses.contains_key(&key)));
            } else {
                let original = verify_bundle(&seed, &policy, &expected, &options).unwrap();
                prop_assert_eq!(shown(&verified), shown(&original));
            }
        }
    }

    #[test]
    fn mutated_witness_requests((seed, bytes) in mutated("witness_request")) {
        let Ok(request) = AddCheckpoint::parse(&bytes) else {
            return Ok(());
        };
        prop_assert_eq!(request.to_bytes(), bytes);
        let key = &keys().log_vkey;
        let latest = Witnessed { size: 3, root: trusted().root };
        for latest in [None, Some(&latest)] {
            if let Ok(checkpoint) = witness::check(&request, Some(key), latest) {
                let original = AddCheckpoint::parse(&seed).unwrap();
                let original = SignedCheckpoint::verify(&original.checkpoint, key).unwrap();
                prop_assert_eq!(checkpoint.checkpoint, original.checkpoint);
            }
        }
    }

    #[test]
    fn mutated_evidence((seed, bytes) in mutated("evidence")) {
        let k = keys();
        let check = |b: &[u8]| evidence::check(b, &k.log_vkey, Some(&k.operator_vkey));
        match check(&bytes) {
            Ok(confirmed) => {
                let original = check(&seed).unwrap();
                prop_assert_eq!(confirmed.misbehaviour, original.misbehaviour);
                prop_assert_eq!(confirmed.checkpoint, original.checkpoint);
            }
            // Never proof; what the log signed is the seed's (any bytes beside it are a
            // mismatch too).
            Err(EvidenceError::ObservationOnly(observed)) => {
                prop_assert_eq!(signed_part(&observed), signed_part(&leaf_observation(&seed)));
            }
            Err(_) => {}
        }
    }
}

// Regressions: inputs the fuzz targets found, minimised.

/// `certificate_json`: a certificate as the log holds it (signed by a certifier, so any field
/// values) whose `issued_at` is in the year 68,000 made writing it as JSON panic, since RFC 3339
/// has four-digit years. Times it cannot write are now written as seconds.
#[test]
fn regression_certificate_time_after_year_9999() {
    let mut bytes = b"\x0a\x04E257\x12\x20".to_vec();
    bytes.extend_from_slice(&[b'Z'; 32]);
    bytes.extend_from_slice(b"\x68\x9f\xea\xe4\xa8\xda\x3c");
    let certificate = Certificate::decode(bytes.as_slice()).unwrap();
    assert_eq!(certificate.issued_at, 2_085_829_031_199);
    let json = serde_json::to_value(&certificate).unwrap();
    assert_eq!(json["issued_at"], "2085829031199");

    assert_eq!(format_time(253_402_300_799), "9999-12-31T23:59:59Z");
    assert_eq!(format_time(253_402_300_800), "253402300800");
    assert_eq!(format_time(i64::MAX), i64::MAX.to_string());
    assert_eq!(format_time(-1), "-1");
    assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
}

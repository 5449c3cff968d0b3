//! The `certlog-verify` binary, run as a user would: arguments, files, stdin, output and exit
//! status (0 valid, 1 does not verify, 2 usage error or unreadable input).
//!
//! Proofs are generated here with the library over the 8-leaf RFC 6962 test set of
//! transparency-dev/merkle (testdata/inclusion and consistency); the checkpoint is
//! checkpoint.15 of transparency-dev/tessera testdata/log, with its log's verifier key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use certlog_verifier::cosignature::cosign;
use certlog_verifier::merkle::{self, CompactRange, HashReader, NodeId};
use certlog_verifier::{Hash, KeyType, Note, SigningKey};

const BIN: &str = env!("CARGO_BIN_EXE_certlog-verify");

/// The leaves of the transparency-dev/merkle test set, hex.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOT_8: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

/// checkpoint.15 of transparency-dev/tessera testdata/log.
const CHECKPOINT_15: &str = "example.com/log/testdata\n\
    15\n\
    rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n\
    \n\
    \u{2014} example.com/log/testdata M9e0luh4jTG+UMBqOUo9/q+yAEvx1ilBEniMvjf1zfcBOhg+CKubMt53MvIt/uEWP6zdkdIQzd/fmwlM/dlPWF74ewI=\n";
const LOG_VKEY: &str =
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

// ---- helpers ----

/// Every subtree hash of the 8-leaf tree, stored as a log would.
struct Stored(BTreeMap<NodeId, Hash>);

impl HashReader for Stored {
    type Error = Infallible;
    fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
        Ok(self.0[&node])
    }
}

fn entries() -> Vec<Vec<u8>> {
    LEAVES.iter().map(|h| hex::decode(h).unwrap()).collect()
}

fn tree() -> Stored {
    let mut nodes = BTreeMap::new();
    let mut range = CompactRange::new();
    for entry in entries() {
        range.append(merkle::leaf_hash(&entry), |id, h| {
            nodes.insert(id, *h);
        });
    }
    assert_eq!(hex::encode(range.root().0), ROOT_8);
    Stored(nodes)
}

fn root(size: u64) -> String {
    merkle::tree_root(size, &tree()).unwrap().to_base64()
}

fn leaf(index: usize) -> String {
    merkle::leaf_hash(&entries()[index]).to_base64()
}

fn inclusion_proof(index: u64, size: u64) -> Vec<String> {
    let proof = merkle::inclusion_proof(index, size, &tree()).unwrap();
    proof.iter().map(Hash::to_base64).collect()
}

fn consistency_proof(size1: u64, size2: u64) -> Vec<String> {
    let proof = merkle::consistency_proof(size1, size2, &tree()).unwrap();
    proof.iter().map(Hash::to_base64).collect()
}

/// A file under the system's temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "certlog-verify-cli-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading all of stdin (a usage error): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Asserts the exit status, showing the output when it differs.
#[track_caller]
fn assert_status(out: &Output, want: i32) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", stdout(out)))
}

/// `["--proof", h1, "--proof", h2, ...]`
fn proof_flags(proof: &[String]) -> Vec<String> {
    proof
        .iter()
        .flat_map(|h| ["--proof".to_string(), h.clone()])
        .collect()
}

/// Runs with owned arguments.
fn run_owned(args: Vec<String>) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

fn inclusion_args(leaf_hash: &str, index: u64, size: u64, root: &str) -> Vec<String> {
    [
        "inclusion",
        "--leaf-hash",
        leaf_hash,
        "--index",
        &index.to_string(),
        "--size",
        &size.to_string(),
        "--root",
        root,
    ]
    .map(String::from)
    .into()
}

fn witness(name: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, KeyType::CosignatureV1, &[seed; 32]).unwrap()
}

/// checkpoint.15 cosigned by each of `witnesses`, at 1700000000 + its position.
fn cosigned_checkpoint(witnesses: &[&SigningKey]) -> String {
    let mut note = Note::parse(CHECKPOINT_15.as_bytes()).unwrap();
    let text = note.text().to_string();
    for (i, w) in witnesses.iter().enumerate() {
        note.add_signature(cosign(w, &text, 1_700_000_000 + i as u64).unwrap());
    }
    note.to_text()
}

// ---- inclusion ----

#[test]
fn inclusion_with_repeated_proof_flags() {
    for (index, size) in [(0, 8), (2, 8), (5, 8), (7, 8), (4, 5), (6, 7)] {
        let mut args = inclusion_args(&leaf(index as usize), index, size, &root(size));
        args.extend(proof_flags(&inclusion_proof(index, size)));
        let out = run_owned(args);
        assert_status(&out, 0);
        assert!(stdout(&out).starts_with("OK: "), "{}", stdout(&out));
    }
}

#[test]
fn inclusion_with_comma_separated_and_mixed_proof() {
    let proof = inclusion_proof(2, 8);
    assert_eq!(proof.len(), 3);
    let mut args = inclusion_args(&leaf(2), 2, 8, &root(8));
    args.extend(["--proof".into(), proof.join(",")]);
    assert_status(&run_owned(args), 0);

    let mut mixed = inclusion_args(&leaf(2), 2, 8, &root(8));
    mixed.extend([
        "--proof".into(),
        format!("{}, {}", proof[0], proof[1]),
        "--proof".into(),
        proof[2].clone(),
    ]);
    assert_status(&run_owned(mixed), 0);
}

#[test]
fn inclusion_with_an_empty_proof() {
    // A one-leaf tree: the root is the leaf hash and the proof is empty.
    let one = leaf(0);
    assert_status(&run_owned(inclusion_args(&one, 0, 1, &one)), 0);
    let mut args = inclusion_args(&one, 0, 1, &one);
    args.extend(["--proof".into(), String::new()]);
    assert_status(&run_owned(args), 0);
}

#[test]
fn inclusion_from_an_entry_file() {
    let file = TempFile::new("entry-5", &entries()[5]);
    let args = |entry_file: &str, index: &str| {
        let mut args: Vec<String> = [
            "inclusion",
            "--entry-file",
            entry_file,
            "--index",
            index,
            "--size",
            "8",
            "--root",
            &root(8),
        ]
        .map(String::from)
        .into();
        args.extend(proof_flags(&inclusion_proof(5, 8)));
        args
    };
    let out = run_owned(args(file.path(), "5"));
    assert_status(&out, 0);
    assert!(stdout(&out).contains(&leaf(5)), "{}", stdout(&out));

    // The same entry at another index does not verify.
    assert_status(&run_owned(args(file.path(), "4")), 1);

    // The entry on stdin.
    let stdin_args = args("-", "5");
    let refs: Vec<&str> = stdin_args.iter().map(String::as_str).collect();
    assert_status(&run_with_stdin(&refs, &entries()[5]), 0);
}

#[test]
fn a_tampered_inclusion_proof_is_invalid() {
    let mut proof = inclusion_proof(3, 8);
    let mut bytes = Hash::from_base64(&proof[1]).unwrap().0;
    bytes[0] ^= 1;
    proof[1] = Hash(bytes).to_base64();
    let mut args = inclusion_args(&leaf(3), 3, 8, &root(8));
    args.extend(proof_flags(&proof));
    let out = run_owned(args);
    assert_status(&out, 1);
    assert!(
        stdout(&out).starts_with("INVALID: computed root"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn wrong_lengths_and_indexes_are_invalid() {
    let proof = inclusion_proof(3, 8);
    let mut short = inclusion_args(&leaf(3), 3, 8, &root(8));
    short.extend(proof_flags(&proof[..2]));
    assert_status(&run_owned(short), 1);

    let mut out_of_range = inclusion_args(&leaf(3), 8, 8, &root(8));
    out_of_range.extend(proof_flags(&proof));
    let out = run_owned(out_of_range);
    assert_status(&out, 1);
    assert!(stdout(&out).contains("not in a tree of size 8"));
}

#[test]
fn malformed_base64_is_a_usage_error() {
    let proof = inclusion_proof(3, 8);
    let mut bad_proof = inclusion_args(&leaf(3), 3, 8, &root(8));
    bad_proof.extend(proof_flags(&proof));
    bad_proof.extend(["--proof".into(), "not*base64".into()]);
    let out = run_owned(bad_proof);
    assert_status(&out, 2);
    assert!(
        stderr(&out).starts_with("error: --proof"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // Valid base64 of the wrong length, and an empty item in a list.
    let mut bad_root = inclusion_args(&leaf(3), 3, 8, "AAAA");
    bad_root.extend(proof_flags(&proof));
    assert_status(&run_owned(bad_root), 2);
    let mut empty_item = inclusion_args(&leaf(3), 3, 8, &root(8));
    empty_item.extend(["--proof".into(), format!("{},,{}", proof[0], proof[1])]);
    assert_status(&run_owned(empty_item), 2);
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let missing = std::env::temp_dir().join("certlog-verify-cli-no-such-file");
    let out = run(&[
        "inclusion",
        "--entry-file",
        missing.to_str().unwrap(),
        "--index",
        "0",
        "--size",
        "1",
        "--root",
        &leaf(0),
    ]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).starts_with("error: reading "),
        "{}",
        stderr(&out)
    );

    let out = run(&[
        "checkpoint",
        missing.to_str().unwrap(),
        "--log-vkey",
        LOG_VKEY,
    ]);
    assert_status(&out, 2);
}

#[test]
fn clap_usage_errors_exit_2() {
    assert_status(&run(&["inclusion", "--index", "0", "--size", "1"]), 2);
    assert_status(
        &run(&[
            "inclusion",
            "--leaf-hash",
            "x",
            "--entry-file",
            "y",
            "--index",
            "0",
            "--size",
            "1",
            "--root",
            "x",
        ]),
        2,
    );
    assert_status(&run(&["frobnicate"]), 2);
    let help = run(&["checkpoint", "--help"]);
    assert_status(&help, 0);
    assert!(stdout(&help).contains("the number of --witness given"));
}

// ---- consistency ----

fn consistency_args(size1: u64, size2: u64, root1: &str, root2: &str) -> Vec<String> {
    [
        "consistency",
        "--size1",
        &size1.to_string(),
        "--size2",
        &size2.to_string(),
        "--root1",
        root1,
        "--root2",
        root2,
    ]
    .map(String::from)
    .into()
}

#[test]
fn consistency_proofs_verify() {
    for (size1, size2) in [
        (1, 8),
        (3, 8),
        (4, 8),
        (6, 8),
        (5, 7),
        (2, 5),
        (8, 8),
        (0, 8),
    ] {
        let mut args = consistency_args(size1, size2, &root(size1), &root(size2));
        args.extend(["--proof".into(), consistency_proof(size1, size2).join(",")]);
        let out = run_owned(args);
        assert_status(&out, 0);
        assert!(stdout(&out).starts_with("OK: "));
    }
}

#[test]
fn bad_consistency_proofs_are_invalid() {
    let proof = consistency_proof(3, 8);
    // Swapped roots.
    let mut swapped = consistency_args(3, 8, &root(8), &root(3));
    swapped.extend(proof_flags(&proof));
    assert_status(&run_owned(swapped), 1);
    // A tampered hash.
    let mut tampered = proof.clone();
    let mut bytes = Hash::from_base64(&tampered[0]).unwrap().0;
    bytes[31] ^= 0x80;
    tampered[0] = Hash(bytes).to_base64();
    let mut args = consistency_args(3, 8, &root(3), &root(8));
    args.extend(proof_flags(&tampered));
    assert_status(&run_owned(args), 1);
    // Sizes out of order, and equal sizes with different roots.
    assert_status(&run_owned(consistency_args(8, 3, &root(8), &root(3))), 1);
    let out = run_owned(consistency_args(8, 8, &root(8), &root(7)));
    assert_status(&out, 1);
    assert!(stdout(&out).starts_with("INVALID: "));
    // Unreadable input.
    assert_status(&run_owned(consistency_args(3, 8, "###", &root(8))), 2);
}

// ---- checkpoint ----

#[test]
fn the_tessera_checkpoint_verifies() {
    // An empty stdin is not a note.
    assert_status(
        &run_with_stdin(&["checkpoint", "-", "--log-vkey", LOG_VKEY], b""),
        2,
    );

    let out = run_with_stdin(
        &["checkpoint", "-", "--log-vkey", LOG_VKEY],
        CHECKPOINT_15.as_bytes(),
    );
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "OK: checkpoint of example.com/log/testdata at size 15 with root \
         rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n"
    );

    let file = TempFile::new("checkpoint.15", CHECKPOINT_15.as_bytes());
    assert_status(
        &run(&["checkpoint", file.path(), "--log-vkey", LOG_VKEY]),
        0,
    );
}

#[test]
fn the_log_key_may_come_from_a_file() {
    let checkpoint = TempFile::new("checkpoint", CHECKPOINT_15.as_bytes());
    let vkey = TempFile::new("log.vkey", format!("{LOG_VKEY}\n").as_bytes());
    let at = format!("@{}", vkey.path());
    for key in [at.as_str(), vkey.path()] {
        assert_status(
            &run(&["checkpoint", checkpoint.path(), "--log-vkey", key]),
            0,
        );
    }
    let empty = TempFile::new("empty.vkey", b"");
    let out = run(&["checkpoint", checkpoint.path(), "--log-vkey", empty.path()]);
    assert_status(&out, 2);
    let out = run(&[
        "checkpoint",
        checkpoint.path(),
        "--log-vkey",
        "@no-such-file",
    ]);
    assert_status(&out, 2);
}

#[test]
fn another_key_does_not_verify_the_checkpoint() {
    let file = TempFile::new("checkpoint", CHECKPOINT_15.as_bytes());
    // Another log's key, and a key with the log's name but another secret.
    let other = SigningKey::from_seed("example.com/other", KeyType::Ed25519, &[1; 32]).unwrap();
    let impostor =
        SigningKey::from_seed("example.com/log/testdata", KeyType::Ed25519, &[2; 32]).unwrap();
    for (key, reason) in [
        (other, "INVALID: checkpoint origin"),
        (
            impostor,
            "INVALID: checkpoint note: no signature by a known key",
        ),
    ] {
        let vkey = key.verifier_key().to_string();
        let out = run(&["checkpoint", file.path(), "--log-vkey", &vkey]);
        assert_status(&out, 1);
        assert!(stdout(&out).starts_with(reason), "{}", stdout(&out));
    }
    // The right key, but a changed size: the signature fails.
    let changed = CHECKPOINT_15.replacen("\n15\n", "\n16\n", 1);
    let out = run_with_stdin(
        &["checkpoint", "-", "--log-vkey", LOG_VKEY],
        changed.as_bytes(),
    );
    assert_status(&out, 1);
    assert!(stdout(&out).contains("invalid signature by known key"));
}

#[test]
fn malformed_checkpoints_and_keys_are_usage_errors() {
    let garbage: [&[u8]; 4] = [
        b"not a checkpoint at all",
        b"\xff\xfe\n\n",
        // A note whose size line is malformed, whoever signed it.
        "example.com/log/testdata\n015\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n\n\u{2014} \
         example.com/log/testdata M9e0luh4jTG+UMBqOUo9/q+yAEvx1ilBEniMvjf1zfcBOhg+CKubMt53MvIt/uEWP6zdkdIQzd/fmwlM/dlPWF74ewI=\n"
            .as_bytes(),
        // The checkpoint text without its signature block.
        b"example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n",
    ];
    for bytes in garbage {
        let out = run_with_stdin(&["checkpoint", "-", "--log-vkey", LOG_VKEY], bytes);
        assert_status(&out, 2);
        assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    }
    // Not a vkey, and a witness key where the log key belongs.
    let w = witness("witness.example", 1).verifier_key().to_string();
    for key in ["example.com/log/testdata+33d7b496+AAAA", w.as_str()] {
        let out = run_with_stdin(
            &["checkpoint", "-", "--log-vkey", key],
            CHECKPOINT_15.as_bytes(),
        );
        assert_status(&out, 2);
    }
}

#[test]
fn witness_cosignatures_and_quorum() {
    let (w1, w2, w3) = (
        witness("w1.example", 1),
        witness("w2.example", 2),
        witness("w3.example", 3),
    );
    let file = TempFile::new("cosigned", cosigned_checkpoint(&[&w1, &w2]).as_bytes());
    let vkeys: Vec<String> = [&w1, &w2, &w3]
        .iter()
        .map(|w| w.verifier_key().to_string())
        .collect();
    let base = ["checkpoint", file.path(), "--log-vkey", LOG_VKEY];
    let with = |witnesses: &[&str], quorum: Option<&str>| {
        let mut args: Vec<&str> = base.to_vec();
        for w in witnesses {
            args.extend(["--witness", w]);
        }
        if let Some(q) = quorum {
            args.extend(["--quorum", q]);
        }
        run(&args)
    };

    // Both cosigners, with the default quorum (all of them) and with --quorum 2.
    let out = with(&[&vkeys[0], &vkeys[1]], None);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("cosigned by w1.example at 2023-11-14T22:13:20Z"),
        "{text}"
    );
    assert!(
        text.contains("cosigned by w2.example at 2023-11-14T22:13:21Z"),
        "{text}"
    );
    assert_status(&with(&[&vkeys[0], &vkeys[1]], Some("2")), 0);
    assert_status(&with(&[&vkeys[0], &vkeys[1], &vkeys[2]], Some("2")), 0);

    // A third witness that did not cosign: a quorum of 3 is not met.
    let out = with(&[&vkeys[0], &vkeys[1], &vkeys[2]], Some("3"));
    assert_status(&out, 1);
    assert_eq!(
        stdout(&out),
        "INVALID: 2 of the required 3 witness cosignatures\n"
    );
    assert_status(&with(&[&vkeys[0], &vkeys[1], &vkeys[2]], None), 1);

    // A quorum more than the witnesses given, a witness twice, a log key as witness: usage.
    assert_status(&with(&[&vkeys[0], &vkeys[1]], Some("3")), 2);
    assert_status(&with(&[&vkeys[0], &vkeys[0]], None), 2);
    assert_status(&with(&[LOG_VKEY], None), 2);

    // A witness key read from a file.
    let w2_file = TempFile::new("w2.vkey", format!("{}\n", vkeys[1]).as_bytes());
    assert_status(&with(&[&vkeys[0], w2_file.path()], None), 0);
}

#[test]
fn a_bad_cosignature_is_invalid() {
    let w1 = witness("w1.example", 1);
    let text = cosigned_checkpoint(&[&w1]);
    // Cosign another checkpoint body with w1, and put that line on checkpoint.15.
    let mut other = Note::parse(CHECKPOINT_15.as_bytes()).unwrap();
    let wrong = cosign(&w1, "example.com/log/testdata\n14\nAAAA\n", 1_700_000_000).unwrap();
    other.add_signature(wrong);
    let w = w1.verifier_key().to_string();
    let good = TempFile::new("good", text.as_bytes());
    let bad = TempFile::new("bad", other.to_text().as_bytes());
    let args = |file: &TempFile| {
        run(&[
            "checkpoint",
            file.path(),
            "--log-vkey",
            LOG_VKEY,
            "--witness",
            &w,
        ])
    };
    assert_status(&args(&good), 0);
    let out = args(&bad);
    assert_status(&out, 1);
    assert!(stdout(&out).contains("invalid signature by known key w1.example"));
}

// ---- JSON ----

#[test]
fn json_output() {
    let mut ok = inclusion_args(&leaf(6), 6, 8, &root(8));
    ok.extend(proof_flags(&inclusion_proof(6, 8)));
    // --json after the subcommand.
    let mut args = ok.clone();
    args.push("--json".into());
    let out = run_owned(args);
    assert_status(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["check"], "inclusion");
    assert_eq!(doc["index"], 6);
    assert_eq!(doc["size"], 8);
    assert_eq!(doc["root"], root(8));
    assert_eq!(doc["leaf_hash"], leaf(6));

    // --json before the subcommand; a proof for another leaf.
    let mut args = vec!["--json".to_string()];
    args.extend(inclusion_args(&leaf(5), 6, 8, &root(8)));
    args.extend(proof_flags(&inclusion_proof(6, 8)));
    let out = run_owned(args);
    assert_status(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["check"], "inclusion");
    assert!(doc["error"].as_str().unwrap().starts_with("computed root"));
    assert!(doc.get("usage").is_none());

    // Unreadable input, and a usage error clap reports.
    let out = run_owned(
        [
            ok.clone(),
            vec!["--root".into(), "?".into(), "--json".into()],
        ]
        .concat(),
    );
    assert_status(&out, 2);
    let doc = json(&out);
    assert_eq!(
        (doc["valid"].clone(), doc["usage"].clone()),
        (false.into(), true.into())
    );
    let out = run(&["--json", "consistency", "--size1", "1"]);
    assert_status(&out, 2);
    assert_eq!(json(&out)["usage"], true);
}

#[test]
fn json_checkpoint_lists_cosigners() {
    let (w1, w2) = (witness("w1.example", 1), witness("w2.example", 2));
    let out = run_with_stdin(
        &[
            "checkpoint",
            "-",
            "--json",
            "--log-vkey",
            LOG_VKEY,
            "--witness",
            &w1.verifier_key().to_string(),
            "--witness",
            &w2.verifier_key().to_string(),
        ],
        cosigned_checkpoint(&[&w1, &w2]).as_bytes(),
    );
    assert_status(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["check"], "checkpoint");
    assert_eq!(doc["origin"], "example.com/log/testdata");
    assert_eq!(doc["size"], 15);
    assert_eq!(doc["root"], "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=");
    assert_eq!(doc["quorum"], 2);
    assert_eq!(
        doc["cosigners"],
        serde_json::json!([
            {"name": "w1.example", "timestamp": 1_700_000_000u64},
            {"name": "w2.example", "timestamp": 1_700_000_001u64},
        ])
    );

    let out = run_with_stdin(
        &["--json", "checkpoint", "-", "--log-vkey", LOG_VKEY],
        b"garbage",
    );
    assert_status(&out, 2);
    let doc = json(&out);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["usage"], true);
}

// ---- closed stdout ----

/// Runs the binary with stdout a pipe whose reader is already closed (as `| head -1` leaves it
/// once head is done): every write to stdout fails with a broken pipe.
fn run_with_closed_stdout(args: &[String]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_verdicts_status() {
    let (w1, w2) = (witness("w1.example", 1), witness("w2.example", 2));
    let checkpoint = TempFile::new("cosigned", cosigned_checkpoint(&[&w1, &w2]).as_bytes());
    let (w1, w2) = (w1.verifier_key().to_string(), w2.verifier_key().to_string());
    // Three lines of text: the verdict and one per cosigner.
    let cosigned: Vec<String> = [
        "checkpoint",
        checkpoint.path(),
        "--log-vkey",
        LOG_VKEY,
        "--witness",
        &w1,
        "--witness",
        &w2,
    ]
    .map(String::from)
    .into();
    let mut wrong = inclusion_args(&leaf(5), 6, 8, &root(8));
    wrong.extend(proof_flags(&inclusion_proof(6, 8)));
    for (args, want) in [
        (cosigned.clone(), 0),
        ([cosigned.clone(), vec!["--json".into()]].concat(), 0),
        (wrong.clone(), 1),
        ([wrong, vec!["--json".into()]].concat(), 1),
        (vec!["--json".into(), "consistency".into()], 2),
        (vec!["--help".into()], 0),
    ] {
        let out = run_with_closed_stdout(&args);
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(want), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

//! The README walk-through, end to end: a certifier's key, its registration, four certificates
//! of four schemes, a revocation, and every answer checked offline with certlog-verify.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Log, certlog, describe, example, exit_code, success, verify};
use certlog_verifier::merkle::leaf_hash;
use certlog_verifier::{Hash, SignedCheckpoint};
use serde_json::Value;

/// The four valid examples: file, scheme, certificate ID.
const EXAMPLES: [(&str, &str, &str); 4] = [
    ("eucc-camera.json", "EUCC", "EUCC-3095-2026-11-0042"),
    ("matter-plug.json", "Matter", "CSA26123ZIGB0042-24"),
    ("nesas-gnb.json", "NESAS", "NESAS-2026-0815-GNB"),
    (
        "etsi-303645-thermostat.json",
        "SG-CLS",
        "CLS-L2-2026-000317",
    ),
];

const CERTIFIER: &str = "cb.example/certification";
const REVOCATION_REASON: &str = "private key of the product extracted (CVE-2026-0001)";

fn string(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

/// A base64 hash with one bit flipped.
fn flip(b64: &str) -> String {
    let mut hash = Hash::from_base64(b64).unwrap();
    hash.0[0] ^= 1;
    hash.to_base64()
}

fn proof_arg(proof: &Value) -> String {
    proof
        .as_array()
        .unwrap()
        .iter()
        .map(string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks an inclusion proof with certlog-verify: `expect` is the exit status.
fn verify_inclusion(leaf: &str, index: u64, size: u64, root: &str, proof: &str, expect: i32) {
    let output = verify(&[
        "inclusion",
        "--leaf-hash",
        leaf,
        "--index",
        &index.to_string(),
        "--size",
        &size.to_string(),
        "--root",
        root,
        "--proof",
        proof,
    ]);
    exit_code(&output, expect);
}

#[test]
fn readme_walkthrough() {
    let log = Log::start();
    let vkey = log.log_vkey();
    let url = log.url();

    // 1. A certifier makes its key; the private half is for its owner only.
    let key_file = log.work_path("cb.key");
    let output = log.cli(&["keygen", "--name", CERTIFIER, "--out", &key_file]);
    let certifier_vkey = success(&output).trim().to_string();
    let parsed: certlog_verifier::VerifierKey = certifier_vkey.parse().unwrap();
    assert_eq!(parsed.name(), CERTIFIER);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key file is mode {mode:o}");
        for key in ["log.key", "operator.key"] {
            let mode = std::fs::metadata(log.data_dir().join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "DIR/{key} is mode {mode:o}");
        }
    }
    // keygen never overwrites a key.
    let again = log.cli(&["keygen", "--name", CERTIFIER, "--out", &key_file]);
    assert!(!again.status.success(), "keygen overwrote a key file");

    // 2. The operator moves its key off the log's server (the log needs only operator.vkey),
    // and registers the certifier for four schemes.
    let operator_key = log.work_path("operator.key");
    std::fs::rename(log.operator_key_file(), &operator_key).unwrap();
    let registration = log.cli_json(&[
        "certifier",
        "register",
        "--operator-key",
        &operator_key,
        "--name",
        CERTIFIER,
        "--vkey",
        &certifier_vkey,
        "--scheme",
        "EUCC",
        "--scheme",
        "Matter",
        "--scheme",
        "NESAS",
        "--scheme",
        "SG-CLS",
        "--wait",
    ]);
    assert_eq!(registration["duplicate"], false);
    let mut last_index = number(&registration["index"]);

    // 3. It publishes the four certificates; each receipt verifies offline.
    let mut issued = Vec::new();
    for (file, scheme, id) in EXAMPLES {
        let receipt = log.cli_json(&[
            "submit",
            example(file).to_str().unwrap(),
            "--key",
            &key_file,
            "--wait",
        ]);
        let index = number(&receipt["index"]);
        assert!(index > last_index, "indexes must grow: {receipt}");
        last_index = index;
        assert_eq!(receipt["duplicate"], false);
        let size = number(&receipt["tree_size"]);
        assert!(size > index);
        let checkpoint =
            SignedCheckpoint::verify(string(&receipt["checkpoint"]).as_bytes(), &vkey).unwrap();
        assert_eq!(checkpoint.checkpoint.size, size);
        assert_eq!(
            checkpoint.checkpoint.root.to_base64(),
            string(&receipt["root"])
        );
        verify_inclusion(
            string(&receipt["leaf_hash"]),
            index,
            size,
            string(&receipt["root"]),
            &proof_arg(&receipt["inclusion_proof"]),
            0,
        );
        issued.push((file, scheme, id, index, receipt));
    }

    // 4. It revokes the camera's certificate.
    let (_, scheme, id, camera_index, _) = &issued[0];
    let revocation = log.cli_json(&[
        "revoke",
        "--scheme",
        scheme,
        "--id",
        id,
        "--reason",
        REVOCATION_REASON,
        "--key",
        &key_file,
        "--wait",
    ]);
    let revocation_index = number(&revocation["index"]);
    assert!(revocation_index > last_index);

    // 5. Anyone sees it revoked, with the reason; the others stay active.
    let status = log.cli_json(&["status", "--scheme", scheme, "--id", id]);
    assert_eq!(status["status"], "revoked", "{status}");
    assert_eq!(status["reason"], REVOCATION_REASON);
    assert_eq!(status["certifier"], CERTIFIER);
    assert_eq!(number(&status["issued_index"]), *camera_index);
    assert_eq!(number(&status["last_change_index"]), revocation_index);
    assert_eq!(
        status["entry_indexes"],
        serde_json::json!([camera_index, revocation_index])
    );
    let text = success(&log.cli(&["status", "--scheme", scheme, "--id", id]));
    assert!(text.contains("revoked"), "{text}");
    assert!(text.contains(REVOCATION_REASON), "{text}");
    for (_, scheme, id, index, _) in &issued[1..] {
        let status = log.cli_json(&["status", "--scheme", scheme, "--id", id]);
        assert_eq!(status["status"], "active", "{status}");
        assert_eq!(number(&status["issued_index"]), *index);
    }

    // 6. `prove` an entry and check the proof offline; a tampered proof does not verify.
    let (_, _, matter_id, matter_index, matter_receipt) = &issued[1];
    let proof = log.cli_json(&["prove", "--index", &matter_index.to_string()]);
    assert_eq!(number(&proof["index"]), *matter_index);
    assert_eq!(proof["leaf_hash"], matter_receipt["leaf_hash"]);
    let size = number(&proof["tree_size"]);
    assert!(size > revocation_index);
    assert_eq!(size, log.tree_size(), "prove uses the latest checkpoint");
    let checkpoint =
        SignedCheckpoint::verify(string(&proof["checkpoint"]).as_bytes(), &vkey).unwrap();
    assert_eq!(checkpoint.checkpoint.size, size);
    assert_eq!(
        checkpoint.checkpoint.root.to_base64(),
        string(&proof["root"])
    );
    let (leaf, root, proof_hashes) = (
        string(&proof["leaf_hash"]),
        string(&proof["root"]),
        proof_arg(&proof["proof"]),
    );
    verify_inclusion(leaf, *matter_index, size, root, &proof_hashes, 0);
    let first = proof_hashes.split(',').next().unwrap();
    let tampered = proof_hashes.replacen(first, &flip(first), 1);
    verify_inclusion(leaf, *matter_index, size, root, &tampered, 1);
    verify_inclusion(&flip(leaf), *matter_index, size, root, &proof_hashes, 1);
    verify_inclusion(leaf, *matter_index, size, &flip(root), &proof_hashes, 1);
    verify_inclusion(leaf, matter_index + 1, size, root, &proof_hashes, 1);
    // A proof against an older tree size, one the log signed a checkpoint for (the one of the
    // submission's receipt), comes with that checkpoint and verifies against its root.
    let old_size = number(&matter_receipt["tree_size"]);
    assert!(old_size < size);
    let old = log.cli_json(&[
        "prove",
        "--index",
        &matter_index.to_string(),
        "--size",
        &old_size.to_string(),
    ]);
    assert_eq!(number(&old["tree_size"]), old_size);
    assert_eq!(old["root"], matter_receipt["root"]);
    assert_eq!(old["proof"], matter_receipt["inclusion_proof"]);
    verify_inclusion(
        leaf,
        *matter_index,
        old_size,
        string(&old["root"]),
        &proof_arg(&old["proof"]),
        0,
    );

    // The text form of `prove` prints a certlog-verify command line that works as printed.
    let text = success(&log.cli(&["prove", "--index", &matter_index.to_string()]));
    let command = text
        .lines()
        .find(|l| l.starts_with("certlog-verify inclusion"))
        .unwrap_or_else(|| panic!("no certlog-verify command in {text}"));
    let words: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    exit_code(&verify(&words), 0);

    // 7. `get --out` writes the exact entry bytes, which verify with --entry-file.
    let entry_file = log.work_path("matter.entry");
    let entry = log.cli_json(&[
        "get",
        "--index",
        &matter_index.to_string(),
        "--out",
        &entry_file,
    ]);
    assert_eq!(entry["kind"], "certificate_issued", "{entry}");
    assert_eq!(entry["signer"], CERTIFIER);
    assert_eq!(entry["statement"]["certificate_id"], *matter_id);
    assert_eq!(entry["leaf_hash"], matter_receipt["leaf_hash"]);
    let bytes = std::fs::read(&entry_file).unwrap();
    assert_eq!(leaf_hash(&bytes).to_base64(), leaf);
    let by_file = |file: &str, expect: i32| {
        let output = verify(&[
            "inclusion",
            "--entry-file",
            file,
            "--index",
            &matter_index.to_string(),
            "--size",
            &size.to_string(),
            "--root",
            root,
            "--proof",
            &proof_hashes,
        ]);
        exit_code(&output, expect);
    };
    by_file(&entry_file, 0);
    let mut tampered_bytes = bytes.clone();
    *tampered_bytes.last_mut().unwrap() ^= 1;
    let tampered_file = log.work_path("tampered.entry");
    std::fs::write(&tampered_file, &tampered_bytes).unwrap();
    by_file(&tampered_file, 1);
    // The revocation is an entry too.
    let revocation_entry = log.cli_json(&["get", "--index", &revocation_index.to_string()]);
    assert_eq!(revocation_entry["kind"], "status_changed");
    assert_eq!(revocation_entry["statement"]["status"], "revoked");
    assert_eq!(revocation_entry["statement"]["reason"], REVOCATION_REASON);

    // 8. The checkpoint verifies offline with DIR/log.vkey, and with nothing else.
    let checkpoint = log.cli_json(&["checkpoint"]);
    assert_eq!(checkpoint["verified"], true);
    assert_eq!(number(&checkpoint["tree_size"]), size);
    assert_eq!(checkpoint["root"], root);
    let checkpoint_file = log.work_path("checkpoint");
    let note = string(&checkpoint["checkpoint"]);
    std::fs::write(&checkpoint_file, note).unwrap();
    let output = verify(&[
        "checkpoint",
        &checkpoint_file,
        "--log-vkey",
        &log.log_vkey_file(),
    ]);
    let text = success(&output);
    assert!(text.starts_with("OK:"), "{text}");
    assert!(text.contains(&format!("at size {size}")), "{text}");
    // Another tree size under the same signature.
    let forged = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
    assert_ne!(forged, note);
    std::fs::write(&checkpoint_file, &forged).unwrap();
    let output = verify(&[
        "checkpoint",
        &checkpoint_file,
        "--log-vkey",
        &log.log_vkey_file(),
    ]);
    exit_code(&output, 1);
    // The operator's key is not the log's.
    std::fs::write(&checkpoint_file, note).unwrap();
    let output = verify(&[
        "checkpoint",
        &checkpoint_file,
        "--log-vkey",
        log.data_dir().join("operator.vkey").to_str().unwrap(),
    ]);
    exit_code(&output, 1);

    // 9. A client that expects another log key refuses this log's answers.
    let operator_vkey = log.data_dir().join("operator.vkey");
    for args in [
        &["checkpoint"][..],
        &["prove", "--index", &matter_index.to_string()][..],
    ] {
        let mut all = vec![
            "--server",
            &url,
            "--log-vkey",
            operator_vkey.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let output = certlog(&all);
        assert!(!output.status.success(), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("does not verify"), "{stderr}");
    }

    // 10. An auditor replays the whole log from its tiles and finds it consistent.
    let state = log.work_path("audit.state");
    let output = log.cli(&[
        "audit",
        "--state",
        &state,
        "--operator-vkey",
        operator_vkey.to_str().unwrap(),
    ]);
    let text = success(&output);
    assert!(text.starts_with("consistent: "), "{text}");
}

//! Offline proof of inclusion and status: proof bundles made by `certlog bundle` and checked by
//! `certlog-verify bundle` with nothing but the log's key, and the status map recomputed from
//! the entries alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use certlog_log::key_file;
use certlog_log::replay::Replay;
use certlog_log::tlog_proof::TlogProof;
use certlog_tests::{Certifier, Log, describe, example, exit_code, read_example, verify};
use certlog_verifier::SignedCheckpoint;
use certlog_verifier::certificate::json::{format_time, now};
use certlog_verifier::merkle::{leaf_hash, verify_inclusion};
use certlog_verifier::proto::ProofBundle;
use prost::Message as _;

const EUCC: (&str, &str) = ("EUCC", "EUCC-3095-2026-11-0042");
const MATTER: (&str, &str) = ("Matter", "CSA26123ZIGB0042-24");
const NESAS: (&str, &str) = ("NESAS", "NESAS-2026-0815-GNB");
const CAMERA_FIRMWARE: &str = "9f2c4a1e5b7d3c8e0a6f1b2d4c6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f";
const NESAS_FIRMWARE: &str = "d4c3b2a1f0e9d8c7b6a5948372615049f8e7d6c5b4a392817263544536271809";

/// A log with the EUCC, Matter and NESAS examples issued by one certifier.
fn log_with_three_certificates() -> (Log, Certifier) {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC", "Matter", "NESAS"]);
    for file in ["eucc-camera.json", "matter-plug.json", "nesas-gnb.json"] {
        log.submit(&example(file), &cb);
    }
    (log, cb)
}

/// `certlog bundle` of a certificate into the work directory; returns the file.
fn bundle(log: &Log, (scheme, id): (&str, &str), name: &str, extra: &[&str]) -> String {
    let out = log.work_path(name);
    let mut args = vec!["bundle", "--scheme", scheme, "--id", id, "--out", &out];
    args.extend_from_slice(extra);
    certlog_tests::success(&log.cli(&args));
    out
}

/// `certlog revoke | suspend | reinstate` of a certificate.
fn change(log: &Log, cb: &Certifier, command: &str, (scheme, id): (&str, &str), reason: &str) {
    let args = [
        command,
        "--scheme",
        scheme,
        "--id",
        id,
        "--reason",
        reason,
        "--key",
        cb.key_arg(),
        "--wait",
    ];
    certlog_tests::success(&log.cli(&args));
}

/// `certlog-verify bundle FILE --log-vkey DIR/log.vkey --scheme S --id ID ARGS...`, with the
/// expected exit status; returns stdout.
fn check(log: &Log, file: &str, asked: (&str, &str), extra: &[&str], expect: i32) -> String {
    let output = log.verify_bundle(file, asked, extra);
    exit_code(&output, expect);
    String::from_utf8(output.stdout).unwrap()
}

fn read_bundle(file: &str) -> ProofBundle {
    ProofBundle::decode(&std::fs::read(file).unwrap()[..]).unwrap()
}

/// Writes a changed copy of a bundle next to it; returns its path.
fn tampered(file: &str, name: &str, change: impl FnOnce(&mut ProofBundle)) -> String {
    let mut b = read_bundle(file);
    change(&mut b);
    let out = Path::new(file).with_file_name(name);
    std::fs::write(&out, b.encode_to_vec()).unwrap();
    out.to_str().unwrap().to_string()
}

#[test]
fn bundles_prove_issuance_and_status_offline() {
    let (log, cb) = log_with_three_certificates();

    // Before any status change: all active. The device keeps the checkpoint it trusted.
    let old = bundle(&log, EUCC, "eucc-old.bundle", &[]);
    let state = log.work_path("device.state");
    let out = check(&log, &old, EUCC, &["--state", &state], 0);
    assert!(out.starts_with("OK: EUCC/EUCC-3095-2026-11-0042"), "{out}");
    let old_size = read_bundle(&old).map_head_index + 1;

    change(&log, &cb, "revoke", EUCC, "key compromise");
    change(&log, &cb, "suspend", MATTER, "under investigation");

    let revoked = bundle(&log, EUCC, "eucc.bundle", &[]);
    let out = check(&log, &revoked, EUCC, &[], 3);
    assert!(
        out.starts_with("REVOKED: ") && out.contains("key compromise"),
        "{out}"
    );
    let suspended = bundle(&log, MATTER, "matter.bundle", &[]);
    let out = check(&log, &suspended, MATTER, &[], 3);
    assert!(
        out.starts_with("SUSPENDED: ") && out.contains("under investigation"),
        "{out}"
    );
    let active = bundle(&log, NESAS, "nesas.bundle", &[]);
    check(&log, &active, NESAS, &[], 0);

    // Machine-readable: the status, when and why.
    let json: serde_json::Value =
        serde_json::from_str(&check(&log, &revoked, EUCC, &["--json"], 3)).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["status"], "revoked");
    assert_eq!(json["reason"], "key compromise");
    assert!(json["effective_at"].is_string());

    // Reinstated: a new bundle is active again.
    change(&log, &cb, "reinstate", MATTER, "investigation closed");
    let reinstated = bundle(&log, MATTER, "matter-again.bundle", &[]);
    check(&log, &reinstated, MATTER, &[], 0);

    // An unknown certificate is proven absent.
    const ABSENT: (&str, &str) = ("EUCC", "EUCC-0000-NEVER");
    let absent = bundle(&log, ABSENT, "absent.bundle", &[]);
    let out = check(&log, &absent, ABSENT, &[], 3);
    assert!(
        out.starts_with("ABSENT: EUCC/EUCC-0000-NEVER is not in the log"),
        "{out}"
    );

    // The old bundle, from before the revocation, is still validly signed: it is caught by its
    // age, or by a device that has seen a newer tree.
    let in_two_days = format_time(now() + 2 * 86_400);
    let out = check(
        &log,
        &old,
        EUCC,
        &["--max-age", "1day", "--now", &in_two_days],
        1,
    );
    assert!(out.contains("stale"), "{out}");
    check(&log, &active, NESAS, &["--max-age", "1h"], 0);

    // Rollback protection: the device's state moves forward only with a consistency proof.
    let out = check(&log, &active, NESAS, &["--state", &state], 1);
    assert!(out.contains("consistency proof"), "{out}");
    let since = old_size.to_string();
    let forward = bundle(&log, NESAS, "nesas-since.bundle", &["--since", &since]);
    check(&log, &forward, NESAS, &["--state", &state], 0);
    let out = check(&log, &old, EUCC, &["--state", &state], 1);
    assert!(out.contains("rollback"), "{out}");
    let trusted =
        SignedCheckpoint::verify(&std::fs::read(&state).unwrap(), &log.log_vkey()).unwrap();
    assert_eq!(
        trusted.checkpoint.size,
        read_bundle(&forward).map_head_index + 1
    );

    // The firmware binding.
    let by_firmware = log.work_path("firmware.bundle");
    certlog_tests::success(&log.cli(&[
        "bundle",
        "--firmware-sha256",
        NESAS_FIRMWARE,
        "--out",
        &by_firmware,
    ]));
    assert_eq!(read_bundle(&by_firmware).certificate_id, NESAS.1);
    check(
        &log,
        &by_firmware,
        NESAS,
        &["--firmware-sha256", NESAS_FIRMWARE],
        0,
    );
    let other = "00".repeat(32);
    let out = check(&log, &by_firmware, NESAS, &["--firmware-sha256", &other], 1);
    assert!(out.contains("firmware"), "{out}");
}

#[test]
fn a_bundle_answers_only_for_the_certificate_asked_about() {
    let log = Log::start();
    let eucc = log.certifier("cb.example/eucc", &["EUCC"]);
    let etsi = log.certifier("cb-b.example/etsi", &["ETSI-EN-303-645"]);
    let lookalike = log.certifier("cb-c.example/eucc", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &eucc);

    // Certifier B copies the camera's certificate under its own scheme: the same ID and the
    // same firmware digest. Then the camera's EUCC certificate is revoked.
    let mut copy = read_example("eucc-camera.json");
    copy.scheme = "ETSI-EN-303-645".into();
    let copy_file = log.write_certificate(&copy);
    log.submit(Path::new(&copy_file), &etsi);
    change(&log, &eucc, "revoke", EUCC, "key compromise");
    let copied = ("ETSI-EN-303-645", EUCC.1);
    let copy_bundle = bundle(&log, copied, "copy.bundle", &[]);

    // A camera asks about its EUCC certificate: the copy's bundle does not answer that,
    // firmware digest or not; the camera's own bundle says it is revoked.
    for extra in [&[][..], &["--firmware-sha256", CAMERA_FIRMWARE]] {
        let out = check(&log, &copy_bundle, EUCC, extra, 1);
        assert!(
            out.contains(
                "the bundle is for \"ETSI-EN-303-645\"/\"EUCC-3095-2026-11-0042\", \
                 not for the expected \"EUCC\"/\"EUCC-3095-2026-11-0042\""
            ),
            "{out}"
        );
    }
    let real = bundle(&log, EUCC, "eucc.bundle", &[]);
    check(
        &log,
        &real,
        EUCC,
        &["--firmware-sha256", CAMERA_FIRMWARE],
        3,
    );

    // The certifier, when given, must have issued it.
    let out = check(
        &log,
        &copy_bundle,
        copied,
        &["--certifier", "cb.example/eucc"],
        1,
    );
    assert!(out.contains("issued by \"cb-b.example/etsi\""), "{out}");
    check(
        &log,
        &copy_bundle,
        copied,
        &["--certifier", "cb-b.example/etsi"],
        0,
    );
    check(&log, &real, EUCC, &["--certifier", "cb.example/eucc"], 3);

    // Without the scheme and the ID the question is not asked: a usage error, never 0, with
    // or without a firmware digest.
    let vkey = log.log_vkey_file();
    for extra in [
        &[][..],
        &["--firmware-sha256", CAMERA_FIRMWARE],
        &["--scheme", "EUCC"],
        &["--id", EUCC.1],
    ] {
        let mut args = vec!["bundle", &copy_bundle, "--log-vkey", &vkey];
        args.extend_from_slice(extra);
        let output = verify(&args);
        exit_code(&output, 2);
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("required"),
            "{}",
            describe(&output)
        );
    }

    // A third certifier's look-alike of the camera's ID, with an invisible character, is
    // refused by the log, naming the field and the character.
    let mut invisible = read_example("eucc-camera.json");
    invisible.certificate_id.push('\u{200B}');
    let file = log.write_certificate(&invisible);
    let size = log.tree_size();
    let output = log.cli(&["submit", &file, "--key", lookalike.key_arg(), "--wait"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("field certificate_id contains U+200B"),
        "{}",
        describe(&output)
    );
    assert_eq!(log.tree_size(), size);
}

#[test]
fn any_changed_byte_or_another_key_fails() {
    let (log, cb) = log_with_three_certificates();
    change(&log, &cb, "revoke", EUCC, "key compromise");
    let file = bundle(&log, EUCC, "eucc.bundle", &[]);
    check(&log, &file, EUCC, &[], 3);

    let flip = |bytes: &mut Vec<u8>, at: usize| bytes[at] ^= 0x01;
    type Change = Box<dyn FnOnce(&mut ProofBundle)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "entry",
            Box::new(move |b| {
                let at = b.entry.len() - 3;
                flip(&mut b.entry, at)
            }),
        ),
        (
            "status record's entry hash",
            Box::new(move |b| flip(&mut b.status.as_mut().unwrap().entry_hash, 7)),
        ),
        (
            "certifier record",
            Box::new(|b| b.certifier.as_mut().unwrap().schemes.push("Matter".into())),
        ),
        (
            "certifier key",
            Box::new(|b| b.certifier.as_mut().unwrap().key_index += 1),
        ),
        (
            "certifier proof",
            Box::new(move |b| {
                let s = b.certifier_proof.as_mut().unwrap();
                if s.siblings.is_empty() {
                    s.depth += 1
                } else {
                    flip(&mut s.siblings[0], 3)
                }
            }),
        ),
        (
            "status record",
            Box::new(|b| b.status.as_mut().unwrap().reason.replace_range(0..1, "K")),
        ),
        (
            "status",
            Box::new(|b| b.status.as_mut().unwrap().status = 1),
        ),
        (
            "status proof",
            Box::new(move |b| {
                let s = b.status_proof.as_mut().unwrap();
                if s.siblings.is_empty() {
                    s.other_value = vec![1; 32]
                } else {
                    flip(&mut s.siblings[0], 0)
                }
            }),
        ),
        (
            "map head",
            Box::new(move |b| {
                let at = b.map_head.len() - 1;
                flip(&mut b.map_head, at)
            }),
        ),
        (
            "map head proof",
            Box::new(move |b| flip(&mut b.map_head_proof[0], 31)),
        ),
        (
            "checkpoint",
            Box::new(|b| {
                // One character of the root line.
                let lines: Vec<&str> = b.checkpoint.lines().collect();
                let root = lines[2];
                let changed = if root.starts_with('A') {
                    root.replacen('A', "B", 1)
                } else {
                    format!("A{}", &root[1..])
                };
                b.checkpoint = b.checkpoint.replacen(root, &changed, 1);
            }),
        ),
        ("certificate ID", Box::new(|b| b.certificate_id.push('X'))),
    ];
    for (what, change) in cases {
        let changed = tampered(&file, &format!("{}.bundle", what.replace(' ', "-")), change);
        let vkey = log.log_vkey_file();
        let (scheme, id) = EUCC;
        let output = verify(&[
            "bundle",
            &changed,
            "--log-vkey",
            &vkey,
            "--scheme",
            scheme,
            "--id",
            id,
        ]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "a changed {what} must not verify: {}",
            describe(&output)
        );
    }

    // Another log's key.
    let other = Log::start();
    let (scheme, id) = EUCC;
    let output = verify(&[
        "bundle",
        &file,
        "--log-vkey",
        &other.log_vkey_file(),
        "--scheme",
        scheme,
        "--id",
        id,
    ]);
    exit_code(&output, 1);
    // Not a bundle at all, or cut short: unreadable input.
    let truncated = log.work_path("truncated.bundle");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    exit_code(
        &verify(&[
            "bundle",
            &truncated,
            "--log-vkey",
            &log.log_vkey_file(),
            "--scheme",
            scheme,
            "--id",
            id,
        ]),
        2,
    );
}

#[test]
fn tlog_proof_for_other_tools() {
    let (log, _) = log_with_three_certificates();
    let out = bundle(&log, NESAS, "nesas.tlog-proof", &["--format", "tlog-proof"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex "), "{text}");
    let proof = TlogProof::parse(&text).unwrap();
    let checkpoint =
        SignedCheckpoint::verify(proof.checkpoint.as_bytes(), &log.log_vkey()).unwrap();
    let entry = log.work_path("nesas.entry");
    let index = proof.index.to_string();
    certlog_tests::success(&log.cli(&["get", "--index", &index, "--out", &entry]));
    let c = &checkpoint.checkpoint;
    verify_inclusion(
        &leaf_hash(&std::fs::read(&entry).unwrap()),
        proof.index,
        c.size,
        &proof.proof,
        &c.root,
    )
    .unwrap();
}

#[tokio::test]
async fn the_status_map_is_derived_from_the_entries_alone() {
    let (log, cb) = log_with_three_certificates();
    change(&log, &cb, "revoke", EUCC, "key compromise");
    change(&log, &cb, "suspend", MATTER, "under investigation");
    change(&log, &cb, "reinstate", MATTER, "cleared");
    let size = log.tree_size();
    let entries = log.client().await.entries(0, size).await.unwrap();
    let operator = key_file::read_verifier_key(&log.data_dir().join("operator.vkey")).unwrap();
    let mut replay = Replay::new(operator);
    for entry in &entries {
        replay.apply(entry).unwrap();
    }
    // Every batch ends with a map head, and every one matched the replayed map.
    assert!(replay.map_heads >= 7, "{} map heads", replay.map_heads);
    assert_eq!(replay.size, size);
    assert_eq!(replay.state.statuses.len(), 3);
}

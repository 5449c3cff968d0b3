//! A log with witnesses (`certlogd --witness URL=VKEY --witness-quorum K`), end to end: the real
//! certlogd has its checkpoints cosigned by real `certlog witness serve` processes, publishes them
//! with the cosignatures on /checkpoint, in GetCheckpoint, in Submit --wait and in proof bundles,
//! and keeps taking entries when its witnesses are down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::witness::Witness;
use certlog_tests::{DEFAULT_ORIGIN, Log, example, exit_code, success, verify};
use certlog_verifier::{SignedCheckpoint, VerifierKey};

/// A log whose checkpoints `witnesses` witnesses cosign, `quorum` of them required. The log is
/// started once to make its key, which the witnesses need, then again with its witnesses.
fn log_with_witnesses(witnesses: usize, quorum: usize) -> (Log, Vec<Witness>) {
    let mut log = Log::start();
    assert!(log.stop_gracefully().success());
    let vkey = log.log_vkey_file();
    let witnesses: Vec<Witness> = (0..witnesses)
        .map(|_| Witness::start(&[(DEFAULT_ORIGIN, &vkey)]))
        .collect();
    let mut args = vec![
        "--witness-quorum".to_string(),
        quorum.to_string(),
        // Short, so that a test with a witness down does not wait long.
        "--witness-timeout".to_string(),
        "2000".to_string(),
    ];
    for w in &witnesses {
        args.push("--witness".into());
        args.push(format!("http://{}={}", w.addr(), w.vkey()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    log.restart_with(&args);
    (log, witnesses)
}

fn vkeys(witnesses: &[Witness]) -> Vec<VerifierKey> {
    witnesses.iter().map(Witness::vkey).collect()
}

/// `--witness V ...` for certlog-verify.
fn witness_args(keys: &[VerifierKey]) -> Vec<String> {
    keys.iter()
        .flat_map(|k| ["--witness".to_string(), k.to_string()])
        .collect()
}

fn submit_json(log: &Log, file: &str, key: &str) -> serde_json::Value {
    log.cli_json(&[
        "submit",
        example(file).to_str().unwrap(),
        "--key",
        key,
        "--wait",
    ])
}

/// The checkpoint /checkpoint serves, checked with the log's key.
fn http_checkpoint(log: &Log) -> SignedCheckpoint {
    let response = log.http_get("/checkpoint");
    assert_eq!(response.status, 200);
    SignedCheckpoint::verify(response.text().as_bytes(), &log.log_vkey()).unwrap()
}

#[test]
fn checkpoints_and_bundles_carry_the_cosignatures_of_both_witnesses() {
    let (log, witnesses) = log_with_witnesses(2, 2);
    let keys = vkeys(&witnesses);
    let cb = log.certifier("cb.example", &["EUCC"]);
    let receipt = submit_json(&log, "eucc-camera.json", cb.key_arg());
    assert_eq!(receipt["witnessed"], true, "{receipt}");
    assert_eq!(receipt["witness_quorum"], 2);

    // The receipt's checkpoint, /checkpoint and GetCheckpoint: each with two valid cosignatures.
    let from_receipt = SignedCheckpoint::verify(
        receipt["checkpoint"].as_str().unwrap().as_bytes(),
        &log.log_vkey(),
    )
    .unwrap();
    assert_eq!(from_receipt.verify_cosignatures(&keys, 2).unwrap().len(), 2);
    let served = http_checkpoint(&log);
    assert_eq!(served.verify_cosignatures(&keys, 2).unwrap().len(), 2);
    assert!(served.checkpoint.size >= from_receipt.checkpoint.size);
    assert_eq!(
        log.checkpoint()
            .verify_cosignatures(&keys, 2)
            .unwrap()
            .len(),
        2
    );

    let checkpoint_file = log.work_path("checkpoint.txt");
    std::fs::write(&checkpoint_file, served.to_text()).unwrap();
    let mut args = vec![
        "checkpoint".to_string(),
        checkpoint_file.clone(),
        "--log-vkey".into(),
        log.log_vkey_file(),
        "--quorum".into(),
        "2".into(),
    ];
    args.extend(witness_args(&keys));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    success(&verify(&args));

    // A proof bundle verifies with both witnesses required, not with a third, unknown one.
    let bundle = log.work_path("camera.bundle");
    log.cli_json(&[
        "bundle",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-3095-2026-11-0042",
        "--out",
        &bundle,
    ]);
    let check = |keys: &[VerifierKey], quorum: usize| {
        let mut args = vec![
            "bundle".to_string(),
            bundle.clone(),
            "--log-vkey".into(),
            log.log_vkey_file(),
            "--quorum".into(),
            quorum.to_string(),
            "--scheme".into(),
            "EUCC".into(),
            "--id".into(),
            "EUCC-3095-2026-11-0042".into(),
        ];
        args.extend(witness_args(keys));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        verify(&args)
    };
    exit_code(&check(&keys, 2), 0);
    let stranger = certlog_log::key_file::generate(
        "stranger.example/witness",
        certlog_verifier::KeyType::CosignatureV1,
    )
    .unwrap()
    .verifier_key();
    let mut three = keys.clone();
    three.push(stranger);
    let output = check(&three, 3);
    exit_code(&output, 1);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("2 of the required 3"), "{said}");

    // The log counts what its witnesses did.
    let metrics = log.http_get("/metrics").text();
    assert!(
        metrics.contains(
            "certlog_witness_requests_total{witness=\"certlog.local/witness\",outcome=\"cosigned\"}"
        ),
        "{metrics}"
    );
}

#[test]
fn witnesses_that_are_down_delay_cosigning_not_the_log() {
    let (log, mut witnesses) = log_with_witnesses(2, 1);
    let keys = vkeys(&witnesses);
    let cb = log.certifier("cb.example", &["EUCC", "Matter", "NESAS"]);

    // One of two down: the other one still makes the quorum of one.
    witnesses[0].kill();
    let receipt = submit_json(&log, "eucc-camera.json", cb.key_arg());
    assert_eq!(receipt["witnessed"], true, "{receipt}");
    let served = http_checkpoint(&log);
    assert_eq!(served.verify_cosignatures(&keys, 1).unwrap().len(), 1);
    assert!(served.verify_cosignatures(&keys, 2).is_err());
    let witnessed_size = served.checkpoint.size;

    // Both down: entries are still taken and durable, with a receipt that says they are not
    // witnessed; /checkpoint stays at the last checkpoint the quorum cosigned.
    witnesses[1].kill();
    let output = log.cli(&[
        "submit",
        example("matter-plug.json").to_str().unwrap(),
        "--key",
        cb.key_arg(),
        "--wait",
    ]);
    let text = success(&output);
    assert!(
        text.contains("not cosigned by the log's witness quorum"),
        "{text}"
    );
    let receipt = submit_json(&log, "nesas-gnb.json", cb.key_arg());
    assert_eq!(receipt["witnessed"], false, "{receipt}");
    let logged = receipt["tree_size"].as_u64().unwrap();
    assert!(logged > witnessed_size);
    assert_eq!(http_checkpoint(&log).checkpoint.size, witnessed_size);
    // The log-signed checkpoint of that size is there for whoever asks for it.
    let status = log.cli_json(&["status", "--scheme", "NESAS", "--id", "NESAS-2026-0815-GNB"]);
    assert_eq!(status["status"], "active", "{status}");
}

#[test]
fn a_witness_refuses_the_second_branch_of_a_fork() {
    let (mut a, witnesses) = log_with_witnesses(1, 1);
    let keys = vkeys(&witnesses);
    let cb = a.certifier("cb.example", &["EUCC", "Matter"]);
    // Two certlogd on copies of one data directory: same key, same history, same witness.
    let b = a.fork();
    let on_a = submit_json(&a, "eucc-camera.json", cb.key_arg());
    assert_eq!(on_a["witnessed"], true, "{on_a}");
    let on_b = submit_json(&b, "matter-plug.json", cb.key_arg());
    assert_eq!(on_b["witnessed"], false, "{on_b}");
    // Same size, another root: B's checkpoint is signed by the log's key but not cosigned.
    assert_eq!(on_a["tree_size"], on_b["tree_size"]);
    assert_ne!(on_a["root"], on_b["root"]);
    let served_a = http_checkpoint(&a);
    assert_eq!(
        served_a.checkpoint.size,
        on_a["tree_size"].as_u64().unwrap()
    );
    assert_eq!(served_a.verify_cosignatures(&keys, 1).unwrap().len(), 1);
    let served_b = http_checkpoint(&b);
    assert!(served_b.checkpoint.size < on_b["tree_size"].as_u64().unwrap());
    // The witness refused it (409: it holds another root at that size) and said why.
    let metrics = b.http_get("/metrics").text();
    assert!(metrics.contains("outcome=\"failed\"}"), "{metrics}");
    let said = witnesses[0].stderr();
    assert!(said.contains("refused a signed checkpoint"), "{said}");
}

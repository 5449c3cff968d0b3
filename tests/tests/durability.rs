//! What the log acknowledged survives a restart, graceful (SIGTERM) or not (SIGKILL): every
//! entry at its index with the same bytes, the same root, the certifier registry and the
//! certificates' status; and the trees before and after are consistent, as certlog-verify
//! checks offline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Certifier, DEFAULT_ORIGIN, Log, example, exit_code, success, verify};
use certlog_verifier::Checkpoint;
use certlog_verifier::merkle::leaf_hash;
use serde_json::Value;

/// An acknowledged entry: index, leaf hash and the bytes `certlog get --out` wrote.
#[derive(Debug, PartialEq)]
struct Logged {
    index: u64,
    leaf_hash: String,
    bytes: Vec<u8>,
}

fn index_of(receipt: &Value) -> u64 {
    receipt["index"].as_u64().unwrap()
}

/// Entry `index` as the log serves it now, through `certlog get --out`.
fn get(log: &Log, index: u64) -> Logged {
    let file = log.work_path(&format!("entry-{index}"));
    let _ = std::fs::remove_file(&file);
    let json = log.cli_json(&["get", "--index", &index.to_string(), "--out", &file]);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(json["leaf_hash"], leaf_hash(&bytes).to_base64());
    Logged {
        index,
        leaf_hash: json["leaf_hash"].as_str().unwrap().into(),
        bytes,
    }
}

/// Every entry of the tree of `size`.
fn all_entries(log: &Log, size: u64) -> Vec<Logged> {
    (0..size).map(|i| get(log, i)).collect()
}

/// Registers a certifier and publishes the four valid examples with --wait, then revokes the
/// camera's certificate; returns the certifier and the receipts.
fn populate(log: &Log) -> (Certifier, Vec<Value>) {
    let cb = log.certifier("cb.example", &["EUCC", "Matter", "NESAS", "SG-CLS"]);
    let mut receipts = Vec::new();
    for file in [
        "eucc-camera.json",
        "matter-plug.json",
        "nesas-gnb.json",
        "etsi-303645-thermostat.json",
    ] {
        receipts.push(log.submit(&example(file), &cb));
    }
    receipts.push(log.cli_json(&[
        "revoke",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-3095-2026-11-0042",
        "--reason",
        "compromised",
        "--key",
        cb.key_arg(),
        "--wait",
    ]));
    (cb, receipts)
}

/// Checks with `certlog-verify consistency` that the tree `new` extends `old`, with the proof
/// the log gives through certlog-client; and that a tampered proof does not verify.
async fn assert_consistent(log: &Log, old: &Checkpoint, new: &Checkpoint) {
    let mut client = log.client().await;
    let (size2, proof, checkpoint) = client.consistency_proof(old.size, new.size).await.unwrap();
    assert_eq!(size2, new.size);
    let checkpoint = checkpoint.expect("the log signed a checkpoint of the newer size");
    assert_eq!(&checkpoint.checkpoint, new);
    assert!(!proof.is_empty() || old.size == 0 || old.size == new.size);
    let proof_arg: Vec<String> = proof.iter().map(|h| h.to_base64()).collect();
    let run = |root1: &str, proof: &str| {
        verify(&[
            "consistency",
            "--size1",
            &old.size.to_string(),
            "--size2",
            &new.size.to_string(),
            "--root1",
            root1,
            "--root2",
            &new.root.to_base64(),
            "--proof",
            proof,
        ])
    };
    let output = run(&old.root.to_base64(), &proof_arg.join(","));
    assert!(success(&output).starts_with("OK:"));
    if let Some(first) = proof.first() {
        let mut tampered = *first;
        tampered.0[31] ^= 0x80;
        let mut hashes = proof_arg.clone();
        hashes[0] = tampered.to_base64();
        exit_code(&run(&old.root.to_base64(), &hashes.join(",")), 1);
    }
    // Another old root does not verify (except for the empty tree, which every tree extends
    // whatever root is given, as in the Go reference verifier).
    if old.size > 0 {
        let mut other_root = old.root;
        other_root.0[0] ^= 1;
        exit_code(&run(&other_root.to_base64(), &proof_arg.join(",")), 1);
    }
}

#[tokio::test]
async fn graceful_restart_keeps_everything() {
    let mut log = Log::start();
    let (cb, receipts) = populate(&log);
    let before = log.checkpoint();
    let entries = all_entries(&log, before.checkpoint.size);
    for receipt in &receipts {
        let logged = &entries[index_of(receipt) as usize];
        assert_eq!(receipt["leaf_hash"], logged.leaf_hash.as_str());
    }

    let status = log.stop_gracefully();
    assert!(status.success(), "certlogd exited with {status} on SIGTERM");
    log.restart();

    // The same signed checkpoint, the same entries at the same indexes.
    let after = log.checkpoint();
    assert_eq!(after.checkpoint, before.checkpoint);
    assert_eq!(after.to_text(), before.to_text());
    assert_eq!(all_entries(&log, after.checkpoint.size), entries);
    // The registry and the status records too.
    let status = log.cli_json(&[
        "status",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-3095-2026-11-0042",
    ]);
    assert_eq!(status["status"], "revoked");
    assert_eq!(status["reason"], "compromised");
    // Identical bytes are still recognised as the logged entry.
    let again = log.submit(&example("matter-plug.json"), &cb);
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["index"], receipts[1]["index"]);
    assert_eq!(log.tree_size(), before.checkpoint.size);

    // The log goes on where it stopped, and the new tree extends the old one.
    let mut certificate = certlog_tests::read_example("eucc-camera.json");
    certificate.certificate_id = "EUCC-3095-2026-11-0043".into();
    let file = log.work_path("second-camera.json");
    std::fs::write(&file, serde_json::to_string(&certificate).unwrap()).unwrap();
    let receipt = log.submit(std::path::Path::new(&file), &cb);
    assert_eq!(index_of(&receipt), before.checkpoint.size);
    let grown = log.checkpoint();
    assert!(grown.checkpoint.size > before.checkpoint.size);
    assert_consistent(&log, &before.checkpoint, &grown.checkpoint).await;
    // Every checkpoint the log signed before the restart is consistent with the new one.
    for receipt in &receipts {
        let old = Checkpoint::parse(
            certlog_verifier::Note::parse(receipt["checkpoint"].as_str().unwrap().as_bytes())
                .unwrap()
                .text(),
        )
        .unwrap();
        assert_consistent(&log, &old, &grown.checkpoint).await;
    }
}

#[tokio::test]
async fn sigkill_keeps_every_acknowledged_entry() {
    let mut log = Log::start();
    let (cb, receipts) = populate(&log);
    let acknowledged = log.checkpoint();
    let entries = all_entries(&log, acknowledged.checkpoint.size);

    // A crash right after the acknowledgements.
    log.kill();
    log.restart();

    let after = log.checkpoint();
    assert_eq!(after.checkpoint, acknowledged.checkpoint);
    assert_eq!(all_entries(&log, after.checkpoint.size), entries);
    for receipt in &receipts {
        let index = index_of(receipt);
        assert_eq!(
            entries[index as usize].leaf_hash,
            receipt["leaf_hash"].as_str().unwrap()
        );
        // The receipt's proof still holds: the log proves the entry in the receipt's tree.
        let proof = log.cli_json(&[
            "prove",
            "--index",
            &index.to_string(),
            "--size",
            &receipt["tree_size"].to_string(),
        ]);
        assert_eq!(proof["root"], receipt["root"]);
        assert_eq!(proof["proof"], receipt["inclusion_proof"]);
    }

    // Crash again, after more acknowledged entries, then grow the log: every tree extends the
    // ones before.
    let matter = log.cli_json(&[
        "suspend",
        "--scheme",
        "Matter",
        "--id",
        "CSA26123ZIGB0042-24",
        "--reason",
        "firmware under review",
        "--key",
        cb.key_arg(),
        "--wait",
    ]);
    let second = log.checkpoint();
    assert!(second.checkpoint.size > acknowledged.checkpoint.size);
    log.kill();
    log.restart();
    assert_eq!(log.checkpoint().checkpoint, second.checkpoint);
    let status = log.cli_json(&[
        "status",
        "--scheme",
        "Matter",
        "--id",
        "CSA26123ZIGB0042-24",
    ]);
    assert_eq!(status["status"], "suspended");
    assert_eq!(status["last_change_index"], matter["index"]);
    log.cli_json(&[
        "reinstate",
        "--scheme",
        "Matter",
        "--id",
        "CSA26123ZIGB0042-24",
        "--reason",
        "review passed",
        "--key",
        cb.key_arg(),
        "--wait",
    ]);
    let third = log.checkpoint();
    assert_consistent(&log, &acknowledged.checkpoint, &second.checkpoint).await;
    assert_consistent(&log, &acknowledged.checkpoint, &third.checkpoint).await;
    assert_consistent(&log, &second.checkpoint, &third.checkpoint).await;
    // The empty tree and the tree itself are trivially extended.
    let empty = Checkpoint::new(DEFAULT_ORIGIN, 0, certlog_verifier::merkle::EMPTY_ROOT);
    assert_consistent(&log, &empty, &third.checkpoint).await;
    assert_consistent(&log, &third.checkpoint, &third.checkpoint).await;
}

#[test]
fn the_origin_of_a_data_directory_is_fixed() {
    let origin = "transparency.example/eu-certificates";
    let mut log = Log::start_with(&["--origin", origin]);
    let cb = log.certifier("cb.example", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let checkpoint = log.checkpoint();
    assert_eq!(checkpoint.checkpoint.origin, origin);
    assert_eq!(log.log_vkey().name(), origin);

    let status = log.stop_gracefully();
    assert!(status.success());
    for other in [DEFAULT_ORIGIN, "transparency.example/eu"] {
        let failure = match log.try_restart_with(&["--origin", other]) {
            Ok(()) => panic!("certlogd started with --origin {other} on a log of {origin}"),
            Err(failure) => failure,
        };
        let status = failure.status.expect("certlogd exited");
        assert!(!status.success());
        for needle in [origin, other, "--origin"] {
            assert!(
                failure.stderr.contains(needle),
                "the error does not name {needle:?}: {}",
                failure.stderr
            );
        }
    }
    // With its own origin, it starts again with everything.
    log.restart();
    assert_eq!(log.checkpoint(), checkpoint);
}

// Multi-threaded: the gRPC client's connection task must answer the server's GOAWAY and PING
// while this thread waits for certlogd to exit (a client that cannot answer is a stalled one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_clients_connected() {
    use std::io::{Read as _, Write as _};

    let mut log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    // A gRPC client that stays connected, an HTTP/1.1 keep-alive connection after a request,
    // and a connection that never sent anything.
    let mut client = log.client().await;
    let size = client.checkpoint(0).await.unwrap().checkpoint.size;
    let mut keep_alive = std::net::TcpStream::connect(log.addr()).unwrap();
    keep_alive
        .write_all(b"GET /checkpoint HTTP/1.1\r\nHost: certlog\r\n\r\n")
        .unwrap();
    let mut first = [0; 12];
    keep_alive.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let idle = std::net::TcpStream::connect(log.addr()).unwrap();

    let status = log.stop_gracefully();
    assert!(status.success(), "certlogd exited with {status}");
    drop((client, keep_alive, idle));
    log.restart();
    assert_eq!(log.tree_size(), size);
}

#[test]
fn sigterm_with_a_stalled_client() {
    use std::io::Write as _;

    let mut log = Log::start();
    let mut half_sent = std::net::TcpStream::connect(log.addr()).unwrap();
    half_sent
        .write_all(b"GET /checkpoint HTTP/1.1\r\nHost: certlog\r\n")
        .unwrap();
    // The HTTP/2 preface and an empty SETTINGS frame, then silence.
    let mut silent = std::net::TcpStream::connect(log.addr()).unwrap();
    silent
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    // Requests in flight may be finished; clients that never finish must not hold the log.
    let status = log.stop_gracefully();
    assert!(status.success(), "certlogd exited with {status}");
    drop((half_sent, silent));
}

#[test]
fn a_second_certlogd_on_the_same_data_dir_is_refused() {
    let log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]);
    let before = log.checkpoint();
    let failure = match log.try_start_second(&[]) {
        Ok(addr) => panic!("a second certlogd served the same data directory on {addr}"),
        Err(failure) => failure,
    };
    assert!(
        !failure
            .status
            .expect("the second certlogd exited")
            .success()
    );
    assert!(
        failure.stderr.contains("lock"),
        "the error does not say the database is in use: {}",
        failure.stderr
    );
    // The first one is untouched and goes on.
    assert_eq!(log.checkpoint(), before);
    let receipt = log.submit(&example("eucc-camera.json"), &cb);
    assert_eq!(receipt["index"].as_u64(), Some(before.checkpoint.size));
}

/// A log whose private key is gone can no longer sign; its public key must stay, since every
/// checkpoint it published verifies only with it.
#[test]
fn a_lost_log_key_is_not_replaced() {
    let mut log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let vkey = std::fs::read_to_string(log.log_vkey_file()).unwrap();
    assert!(log.stop_gracefully().success());

    std::fs::remove_file(log.data_dir().join("log.key")).unwrap();
    let failure = match log.try_restart_with(&[]) {
        Ok(()) => panic!("certlogd served a log without its key"),
        Err(failure) => failure,
    };
    assert!(!failure.status.expect("certlogd exited").success());
    assert_eq!(
        std::fs::read_to_string(log.log_vkey_file()).unwrap(),
        vkey,
        "DIR/log.vkey was replaced"
    );
    assert!(
        !log.data_dir().join("log.key").exists(),
        "a new log key was made for an existing log"
    );
    // The error names the cause, not only its consequence (a checkpoint that does not verify).
    assert!(failure.stderr.contains("log.key"), "{}", failure.stderr);
}

#[test]
fn the_sled_backend_keeps_a_log_too_and_is_not_mixed_up() {
    let mut log = Log::start_with(&["--storage", "sled"]);
    let cb = log.certifier("cb.example", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let checkpoint = log.checkpoint();
    assert!(log.stop_gracefully().success());
    // The default backend refuses the directory, and says which one it holds.
    let failure = match log.try_restart_with(&[]) {
        Ok(()) => panic!("certlogd opened a sled log with the default backend"),
        Err(failure) => failure,
    };
    assert!(
        failure.stderr.contains("--storage sled"),
        "{}",
        failure.stderr
    );
    log.try_restart_with(&["--storage", "sled"]).unwrap();
    assert_eq!(log.checkpoint(), checkpoint);
}

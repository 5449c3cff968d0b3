//! The witness end to end: the real `certlog witness serve` cosigns the checkpoints of a real
//! certlogd over HTTP, as C2SP tlog-witness "add-checkpoint" says, with the consistency proofs
//! the log gives over gRPC; refuses every malformed or dishonest request with its exact status
//! and keeps working after each; and keeps its state across restarts, graceful or not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use certlog_client::Client;
use certlog_log::key_file;
use certlog_log::witness::{self, AddCheckpoint};
use certlog_tests::witness::Witness;
use certlog_tests::{
    Certifier, DEFAULT_ORIGIN, HttpResponse, Log, certificate, issue_entry, success, verify,
};
use certlog_verifier::merkle::leaf_hash;
use certlog_verifier::{Checkpoint, Hash, KeyType, SignedCheckpoint, SigningKey, VerifierKey};

/// A log with a registered certifier, its witness, and a gRPC client of the log.
struct Setup {
    log: Log,
    witness: Witness,
    certifier: Certifier,
    client: Client,
    issued: u32,
}

impl Setup {
    async fn new() -> Setup {
        let log = Log::start();
        let certifier = log.certifier("cb.example", &["EUCC"]);
        let witness = Witness::start(&[(DEFAULT_ORIGIN, &log.log_vkey_file())]);
        let client = log.client().await;
        Setup {
            log,
            witness,
            certifier,
            client,
            issued: 0,
        }
    }

    /// Publishes `n` more certificates; returns the log's latest checkpoint.
    async fn grow(&mut self, n: u32) -> SignedCheckpoint {
        let key = self.certifier.signing_key();
        for _ in 0..n {
            self.issued += 1;
            let id = format!("EUCC-WITNESS-{}", self.issued);
            let entry = issue_entry(&key, certificate("EUCC", &id));
            self.client.submit(entry, true).await.unwrap();
        }
        self.log.checkpoint()
    }

    /// The log's consistency proof between two of its checkpoints.
    async fn proof(&mut self, old: &SignedCheckpoint, new: &SignedCheckpoint) -> Vec<Hash> {
        let (old, new) = (old.checkpoint.size, new.checkpoint.size);
        let (size, proof, _) = self.client.consistency_proof(old, new).await.unwrap();
        assert_eq!(size, new);
        proof
    }

    /// The request that moves the witness from `old` to `new`, with the log's proof.
    async fn request(&mut self, old: &SignedCheckpoint, new: &SignedCheckpoint) -> Vec<u8> {
        AddCheckpoint {
            old_size: old.checkpoint.size,
            proof: self.proof(old, new).await,
            checkpoint: new.to_text().into_bytes(),
        }
        .to_bytes()
    }
}

/// The request of a first checkpoint (from nothing) or of the same one again.
fn request_from(old_size: u64, checkpoint: &SignedCheckpoint) -> Vec<u8> {
    AddCheckpoint {
        old_size,
        proof: vec![],
        checkpoint: checkpoint.to_text().into_bytes(),
    }
    .to_bytes()
}

/// Asserts a 200 whose cosignature lines verify with the witness's key on `checkpoint`;
/// returns the checkpoint with them.
fn cosigned(
    response: &HttpResponse,
    vkey: &VerifierKey,
    checkpoint: &SignedCheckpoint,
) -> SignedCheckpoint {
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.headers
    );
    let sigs = witness::parse_cosignatures(&response.text()).unwrap();
    assert_eq!(sigs.len(), 1, "{}", response.text());
    let mut cosigned = checkpoint.clone();
    for sig in sigs {
        cosigned.note.add_signature(sig);
    }
    let cosigs = cosigned
        .verify_cosignatures(std::slice::from_ref(vkey), 1)
        .unwrap();
    assert_eq!(cosigs[0].name, "certlog.local/witness");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        cosigs[0].timestamp.abs_diff(now) < 600,
        "cosigned at {}",
        cosigs[0].timestamp
    );
    cosigned
}

/// Asserts a 409 `text/x.tlog.size` with the witness's size.
fn size_conflict(response: &HttpResponse, size: u64) {
    assert_eq!(response.status, 409, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(
        witness::parse_size_body(&response.text()),
        Some(size),
        "{:?}",
        response.text()
    );
}

#[tokio::test]
async fn a_real_logs_checkpoints_are_cosigned_and_bad_requests_refused() {
    let mut s = Setup::new().await;
    let vkey = s.witness.vkey();
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);
    assert_eq!(vkey.name(), "certlog.local/witness");

    // The first checkpoint, from nothing; then forward with the log's proof.
    let cp1 = s.log.checkpoint();
    assert!(cp1.checkpoint.size > 0);
    cosigned(
        &s.witness.add_checkpoint(&request_from(0, &cp1)),
        &vkey,
        &cp1,
    );
    let cp2 = s.grow(3).await;
    let body = s.request(&cp1, &cp2).await;
    cosigned(&s.witness.add_checkpoint(&body), &vkey, &cp2);

    // A client that does not know the witness's size learns it from the 409, then succeeds.
    let size2 = cp2.checkpoint.size;
    size_conflict(&s.witness.add_checkpoint(&request_from(0, &cp2)), size2);
    let stale = s.request(&cp1, &cp2).await;
    let answer = s.witness.add_checkpoint(&stale);
    size_conflict(&answer, size2);
    let learned = witness::parse_size_body(&answer.text()).unwrap();
    cosigned(
        &s.witness.add_checkpoint(&request_from(learned, &cp2)),
        &vkey,
        &cp2,
    );

    // The refusals, each with its status; after each the witness still cosigns.
    let cp3 = s.grow(2).await;
    let good = s.request(&cp2, &cp3).await;
    let text = String::from_utf8(good.clone()).unwrap();
    let parsed = AddCheckpoint::parse(&good).unwrap();
    assert!(!parsed.proof.is_empty());

    let mut cases: Vec<(&str, Vec<u8>, u16)> = Vec::new();
    let first_proof_line = parsed.proof[0].to_base64();
    cases.push((
        "bad proof line",
        text.replacen(&first_proof_line, "not/base64!", 1).into(),
        400,
    ));
    cases.push((
        "short proof line",
        text.replacen(&first_proof_line, "AAAA", 1).into(),
        400,
    ));
    cases.push((
        "missing blank line",
        text.replacen("\n\n", "\n", 1).into(),
        400,
    ));
    cases.push((
        "old size with a leading zero",
        text.replacen("old ", "old 0", 1).into(),
        400,
    ));
    cases.push((
        "unsigned checkpoint",
        format!("old {size2}\n\n{}", cp3.checkpoint.to_text()).into(),
        400,
    ));

    let stranger = SigningKey::from_seed("other.example/log", KeyType::Ed25519, &[7; 32]).unwrap();
    let theirs = Checkpoint::new("other.example/log", 1, leaf_hash(b"x"))
        .sign(&stranger)
        .unwrap();
    cases.push(("unknown origin", request_from(0, &theirs), 404));

    let mut forged = cp3.clone();
    let mut sig = forged.note.signatures()[0].clone();
    sig.signature[5] ^= 1;
    forged.note.add_signature(sig);
    let mut r = parsed.clone();
    r.checkpoint = forged.to_text().into_bytes();
    cases.push(("forged signature", r.to_bytes(), 403));
    let impostor = SigningKey::from_seed(DEFAULT_ORIGIN, KeyType::Ed25519, &[7; 32]).unwrap();
    let mut r = parsed.clone();
    r.checkpoint = cp3
        .checkpoint
        .sign(&impostor)
        .unwrap()
        .to_text()
        .into_bytes();
    cases.push(("another key of the log's name", r.to_bytes(), 403));

    let mut r = parsed.clone();
    r.old_size = cp3.checkpoint.size + 1;
    cases.push(("old size above the checkpoint's", r.to_bytes(), 400));

    let mut r = parsed.clone();
    r.proof[0].0[31] ^= 0x80;
    cases.push(("tampered consistency proof", r.to_bytes(), 422));
    let mut r = parsed.clone();
    r.proof = s.proof(&cp1, &cp3).await;
    cases.push(("proof from another size", r.to_bytes(), 422));

    // The log itself signing another history: a split view the witness must not cosign.
    let log_key = key_file::read_signing_key(&s.log.data_dir().join("log.key")).unwrap();
    let fork = |size| {
        Checkpoint::new(DEFAULT_ORIGIN, size, leaf_hash(b"fork"))
            .sign(&log_key)
            .unwrap()
    };
    cases.push((
        "another root at the witness's size",
        request_from(size2, &fork(size2)),
        409,
    ));
    let mut r = parsed.clone();
    r.checkpoint = fork(cp3.checkpoint.size).to_text().into_bytes();
    cases.push(("another history, larger", r.to_bytes(), 422));

    let mut huge = good.clone();
    huge.resize(100 << 10, b'A');
    cases.push(("huge body", huge, 413));

    for (what, body, status) in &cases {
        let answer = s.witness.add_checkpoint(body);
        assert_eq!(answer.status, *status, "{what}: {}", answer.text());
        if *status == 409 {
            // Not a size conflict: no size to retry with.
            assert_ne!(answer.header("content-type"), Some("text/x.tlog.size"));
        }
        // Still the witness's size, and still cosigning.
        size_conflict(&s.witness.add_checkpoint(&request_from(0, &cp2)), size2);
        cosigned(
            &s.witness.add_checkpoint(&request_from(size2, &cp2)),
            &vkey,
            &cp2,
        );
    }
    for (method, path, status) in [
        ("GET", "/add-checkpoint", 405),
        ("PUT", "/add-checkpoint", 405),
        ("POST", "/checkpoint", 404),
        ("GET", "/", 404),
    ] {
        let answer = s.witness.http(method, path, &good);
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text());
    }

    // The valid request at the end is cosigned, and certlog-verify accepts the cosignature.
    let final_cp = cosigned(&s.witness.add_checkpoint(&good), &vkey, &cp3);
    let file = s.log.work_path("cosigned-checkpoint");
    std::fs::write(&file, final_cp.to_text()).unwrap();
    let witness_vkey = s.witness.data_dir().join("witness.vkey");
    let output = verify(&[
        "checkpoint",
        &file,
        "--log-vkey",
        &s.log.log_vkey_file(),
        "--witness",
        witness_vkey.to_str().unwrap(),
        "--quorum",
        "1",
    ]);
    assert!(success(&output).starts_with("OK:"));
}

#[tokio::test]
async fn the_witness_keeps_its_state_and_key_across_restarts() {
    let mut s = Setup::new().await;
    let vkey = s.witness.vkey();
    let key_file = s.witness.data_dir().join("witness.key");
    assert_private(&key_file);
    let cp1 = s.log.checkpoint();
    cosigned(
        &s.witness.add_checkpoint(&request_from(0, &cp1)),
        &vkey,
        &cp1,
    );
    let cp2 = s.grow(2).await;
    let body = s.request(&cp1, &cp2).await;
    cosigned(&s.witness.add_checkpoint(&body), &vkey, &cp2);
    let size2 = cp2.checkpoint.size;

    // Graceful restart: same key, same state.
    s.witness.restart();
    assert_eq!(s.witness.vkey(), vkey);
    size_conflict(&s.witness.add_checkpoint(&request_from(0, &cp2)), size2);
    size_conflict(&s.witness.add_checkpoint(&body), size2);

    // A crash right after a cosignature: the state was durable before the answer.
    let cp3 = s.grow(2).await;
    let body = s.request(&cp2, &cp3).await;
    cosigned(&s.witness.add_checkpoint(&body), &vkey, &cp3);
    s.witness.kill();
    s.witness.restart();
    assert_eq!(s.witness.vkey(), vkey);
    size_conflict(
        &s.witness.add_checkpoint(&request_from(0, &cp3)),
        cp3.checkpoint.size,
    );
    let cp4 = s.grow(1).await;
    let body = s.request(&cp3, &cp4).await;
    cosigned(&s.witness.add_checkpoint(&body), &vkey, &cp4);
    assert!(
        s.witness.stop_gracefully().success(),
        "{}",
        s.witness.stderr()
    );
}

fn assert_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("PRIVATE+KEY+certlog.local/witness+"));
}

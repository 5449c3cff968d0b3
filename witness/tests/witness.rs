//! The witness in process: its HTTP router driven with requests (tower's `oneshot`) over a data
//! directory of its own. Every status of C2SP tlog-witness "add-checkpoint", the state across a
//! restart, and concurrent requests that must not both be cosigned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Barrier};

use axum::body::Body;
use axum::http::{Request, header};
use certlog_log::witness::{self, AddCheckpoint, Witnessed};
use certlog_verifier::checkpoint::Checkpoint;
use certlog_verifier::merkle::{self, HashReader, NodeId, leaf_hash, root_of};
use certlog_verifier::{Hash, KeyType, SignedCheckpoint, SigningKey, VerifierKey};
use certlog_witness::{ServeError, Witness, http};
use tower::ServiceExt as _;

const ORIGIN: &str = "test.example/log";
const NAME: &str = "test.example/witness";

/// A log in memory: its key and its leaves (`fork` changes every leaf, for another history).
struct TestLog {
    key: SigningKey,
    fork: u8,
}

impl TestLog {
    fn new() -> TestLog {
        TestLog::fork(0)
    }

    fn fork(fork: u8) -> TestLog {
        TestLog {
            key: SigningKey::from_seed(ORIGIN, KeyType::Ed25519, &[1; 32]).unwrap(),
            fork,
        }
    }

    fn vkey(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    fn leaves(&self, size: u64) -> Vec<Hash> {
        (0..size)
            .map(|i| leaf_hash(&[&i.to_be_bytes()[..], &[self.fork]].concat()))
            .collect()
    }

    fn checkpoint(&self, size: u64) -> SignedCheckpoint {
        Checkpoint::new(ORIGIN, size, root_of(&self.leaves(size)))
            .sign(&self.key)
            .unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        merkle::consistency_proof(old, new, &Tree(self.leaves(new))).unwrap()
    }

    fn request(&self, old: u64, new: u64) -> Vec<u8> {
        AddCheckpoint {
            old_size: old,
            proof: self.proof(old, new),
            checkpoint: self.checkpoint(new).to_text().into_bytes(),
        }
        .to_bytes()
    }
}

/// The complete subtrees of some leaves.
struct Tree(Vec<Hash>);

impl HashReader for Tree {
    type Error = std::convert::Infallible;
    fn read_hash(&self, node: NodeId) -> Result<Hash, Self::Error> {
        let width = 1usize << node.level;
        let start = node.index as usize * width;
        Ok(root_of(&self.0[start..start + width]))
    }
}

fn open(dir: &Path, log: &TestLog) -> Arc<Witness> {
    Arc::new(Witness::open(dir, NAME, vec![(ORIGIN.into(), log.vkey())]).unwrap())
}

/// An answer: status, Content-Type and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

async fn send(witness: &Arc<Witness>, method: &str, path: &str, body: Vec<u8>) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(body))
        .unwrap();
    let response = http::router(witness.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn post(witness: &Arc<Witness>, body: Vec<u8>) -> Answer {
    send(witness, "POST", "/add-checkpoint", body).await
}

/// Asserts a 200 whose cosignature verifies with the witness's key on `checkpoint`.
fn assert_cosigned(answer: &Answer, witness: &Witness, mut checkpoint: SignedCheckpoint) {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.content_type.starts_with("text/plain"), "{answer:?}");
    let sigs = witness::parse_cosignatures(&answer.body).unwrap();
    assert_eq!(sigs.len(), 1);
    for sig in sigs {
        checkpoint.note.add_signature(sig);
    }
    let cosigs = checkpoint
        .verify_cosignatures(&[witness.verifier_key()], 1)
        .unwrap();
    assert_eq!(cosigs[0].name, NAME);
}

fn assert_size_conflict(answer: &Answer, size: u64) {
    assert_eq!(answer.status, 409, "{answer:?}");
    assert_eq!(answer.content_type, "text/x.tlog.size");
    assert_eq!(witness::parse_size_body(&answer.body), Some(size));
}

fn assert_status(answer: &Answer, status: u16, needle: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(
        answer.body.contains(needle),
        "{:?} does not say {needle:?}",
        answer.body
    );
}

#[tokio::test]
async fn every_status() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new();
    let w = open(dir.path(), &log);

    // 200: the first checkpoint, from nothing, then forward with a proof, then the same again.
    assert_cosigned(&post(&w, log.request(0, 5)).await, &w, log.checkpoint(5));
    assert_cosigned(&post(&w, log.request(5, 12)).await, &w, log.checkpoint(12));
    assert_cosigned(&post(&w, log.request(12, 12)).await, &w, log.checkpoint(12));

    // 409 with the witness's size: a stale or fresh client.
    assert_size_conflict(&post(&w, log.request(5, 20)).await, 12);
    assert_size_conflict(&post(&w, log.request(0, 20)).await, 12);

    // 400: malformed requests.
    let good = log.request(12, 20);
    let text = String::from_utf8(good.clone()).unwrap();
    let bad_proof = text.replacen('\n', "\nnot base64\n", 1);
    assert_status(&post(&w, bad_proof.into()).await, 400, "proof line");
    let no_blank = text.replacen("\n\n", "\n", 1);
    assert_status(&post(&w, no_blank.into()).await, 400, "proof line");
    assert_status(&post(&w, b"old 12\n".to_vec()).await, 400, "empty line");
    assert_status(&post(&w, b"old x\n\n".to_vec()).await, 400, "old <size>");
    let not_signed = format!("old 12\n\n{}", log.checkpoint(20).checkpoint.to_text());
    assert_status(&post(&w, not_signed.into()).await, 400, "malformed");

    // 404: another origin.
    let stranger = SigningKey::from_seed("other.example/log", KeyType::Ed25519, &[2; 32]).unwrap();
    let theirs = Checkpoint::new("other.example/log", 1, leaf_hash(b"x"))
        .sign(&stranger)
        .unwrap();
    let body = format!("old 0\n\n{}", theirs.to_text());
    assert_status(&post(&w, body.into()).await, 404, "other.example/log");

    // 403: a forged signature, or another key of the log's name.
    let mut forged = log.checkpoint(20);
    let mut sig = forged.note.signatures()[0].clone();
    sig.signature[0] ^= 1;
    forged.note.add_signature(sig);
    let body = AddCheckpoint {
        old_size: 12,
        proof: log.proof(12, 20),
        checkpoint: forged.to_text().into_bytes(),
    };
    assert_status(&post(&w, body.to_bytes()).await, 403, "not signed");
    let impostor = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, &[3; 32]).unwrap();
    let body = AddCheckpoint {
        old_size: 12,
        proof: log.proof(12, 20),
        checkpoint: log
            .checkpoint(20)
            .checkpoint
            .sign(&impostor)
            .unwrap()
            .to_text()
            .into(),
    };
    assert_status(&post(&w, body.to_bytes()).await, 403, "not signed");

    // 400: old above new.
    let body = AddCheckpoint {
        old_size: 21,
        proof: vec![],
        checkpoint: log.checkpoint(20).to_text().into(),
    };
    assert_status(&post(&w, body.to_bytes()).await, 400, "above");

    // 409 without a size: another root at the witness's size.
    let fork = TestLog::fork(1);
    let answer = post(&w, fork.request(12, 12)).await;
    assert_status(&answer, 409, "another root");
    assert!(answer.content_type.starts_with("text/plain"), "{answer:?}");

    // 422: a consistency proof that does not verify, here that of another history.
    assert_status(
        &post(&w, fork.request(12, 20)).await,
        422,
        "consistency proof",
    );
    let mut body = AddCheckpoint::parse(&good).unwrap();
    body.proof.pop();
    assert_status(&post(&w, body.to_bytes()).await, 422, "consistency proof");

    // 413, 405, 404.
    let mut huge = good.clone();
    huge.extend(vec![b'a'; http::MAX_BODY_BYTES]);
    assert_eq!(post(&w, huge).await.status, 413);
    assert_eq!(send(&w, "GET", "/add-checkpoint", vec![]).await.status, 405);
    assert_eq!(
        send(&w, "PUT", "/add-checkpoint", good.clone())
            .await
            .status,
        405
    );
    assert_eq!(
        send(&w, "POST", "/checkpoint", good.clone()).await.status,
        404
    );
    assert_eq!(send(&w, "GET", "/", vec![]).await.status, 404);

    // Nothing refused moved the state; the honest next checkpoint is cosigned.
    assert_eq!(w.latest(ORIGIN).unwrap().size, 12);
    assert_cosigned(&post(&w, good).await, &w, log.checkpoint(20));
    assert_eq!(
        w.latest(ORIGIN),
        Some(Witnessed::of(&log.checkpoint(20).checkpoint))
    );
}

#[tokio::test]
async fn state_and_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new();
    let w = open(dir.path(), &log);
    let vkey = w.verifier_key();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("witness.vkey")).unwrap(),
        format!("{vkey}\n")
    );
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(post(&w, log.request(0, 10)).await.status, 200);
    drop(w);

    let w = open(dir.path(), &log);
    assert_eq!(w.verifier_key(), vkey);
    assert_eq!(
        w.latest(ORIGIN),
        Some(Witnessed::of(&log.checkpoint(10).checkpoint))
    );
    assert_size_conflict(&post(&w, log.request(0, 10)).await, 10);
    assert_eq!(post(&w, TestLog::fork(1).request(10, 10)).await.status, 409);
    assert_cosigned(&post(&w, log.request(10, 11)).await, &w, log.checkpoint(11));
    drop(w);

    // Another name for an existing key is refused, as is a key whose state is gone.
    let renamed = Witness::open(
        dir.path(),
        "other.example/w",
        vec![(ORIGIN.into(), log.vkey())],
    );
    assert!(matches!(renamed, Err(ServeError::WrongKey { .. })));
    std::fs::rename(dir.path().join("logs"), dir.path().join("logs.old")).unwrap();
    let lost = Witness::open(dir.path(), NAME, vec![(ORIGIN.into(), log.vkey())]);
    assert!(
        matches!(lost, Err(ServeError::StateLost { .. })),
        "{lost:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_conflicting_checkpoints_are_not_both_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new();
    let w = open(dir.path(), &log);

    // Sixteen histories of size 8, all from nothing: one wins, the others see its size.
    let forks: Vec<TestLog> = (0..16).map(TestLog::fork).collect();
    let tasks: Vec<_> = forks
        .iter()
        .map(|fork| {
            tokio::spawn({
                let w = w.clone();
                let body = fork.request(0, 8);
                async move { post(&w, body).await }
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let answer = task.await.unwrap();
        match answer.status {
            200 => winners.push(i),
            _ => assert_size_conflict(&answer, 8),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = &forks[winners[0]];
    assert_eq!(
        w.latest(ORIGIN),
        Some(Witnessed::of(&winner.checkpoint(8).checkpoint))
    );

    // From 8, sixteen sizes of the winning history at once: one moves the state, the others
    // find it moved; it never goes back.
    let tasks: Vec<_> = (9..25)
        .map(|size| {
            tokio::spawn({
                let w = w.clone();
                let body = winner.request(8, size);
                async move { (size, post(&w, body).await) }
            })
        })
        .collect();
    let mut cosigned = Vec::new();
    for task in tasks {
        let (size, answer) = task.await.unwrap();
        if answer.status == 200 {
            cosigned.push(size);
        } else {
            assert_eq!(answer.status, 409, "{answer:?}");
        }
    }
    assert_eq!(cosigned.len(), 1, "{cosigned:?}");
    assert_eq!(w.latest(ORIGIN).unwrap().size, cosigned[0]);
    // What is on disk is what was cosigned.
    drop(w);
    let w = open(dir.path(), &log);
    assert_eq!(w.latest(ORIGIN).unwrap().size, cosigned[0]);
}

#[test]
fn threads_racing_on_the_state_never_both_win() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new();
    let w = open(dir.path(), &log);
    // From a non-empty tree, so that a fork needs a proof (from nothing, any tree is consistent).
    w.add_checkpoint(&log.request(0, 2)).unwrap();
    for round in 0..5u64 {
        let old = w.latest(ORIGIN).map_or(0, |l| l.size);
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let (w, barrier) = (w.clone(), barrier.clone());
                // Half the threads a longer tree of the log, half another history.
                let body = if t % 2 == 0 {
                    log.request(old, old + 1 + u64::from(t))
                } else {
                    let fork = TestLog::fork(t + 10 * round as u8 + 1);
                    let mut request = AddCheckpoint::parse(&fork.request(old, old + 4)).unwrap();
                    request.proof = log.proof(old, old + 4);
                    request.to_bytes()
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    w.add_checkpoint(&body).map(|_| t).map_err(|e| e.status())
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<u8> = results.iter().filter_map(|r| r.ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert_eq!(winners[0] % 2, 0, "a fork was cosigned: {results:?}");
        for r in &results {
            assert!(matches!(r, Ok(_) | Err(409) | Err(422)), "{results:?}");
        }
        assert_eq!(
            w.latest(ORIGIN).unwrap().size,
            old + 1 + u64::from(winners[0])
        );
    }
}

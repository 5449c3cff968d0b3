//! `SubmitBatch`: several certifier entries in one call, each checked and answered as `Submit`
//! would answer it alone, and `certlog load --batch`, which sends them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_client::ClientError;
use certlog_proto::MAX_BATCH_ENTRIES;
use certlog_tests::{Log, assert_refused, certificate, issue_entry, refusal};
use certlog_verifier::entry;
use certlog_verifier::proto::statement;
use tonic::Code;

/// A certificate entry whose signature does not verify: the first byte of R flipped.
fn forged(key: &certlog_verifier::SigningKey, id: &str) -> Vec<u8> {
    let body = statement::Body::CertificateIssued(certificate("EUCC", id));
    let mut signed = entry::sign_statement(key, body).unwrap();
    signed.signature[0] ^= 1;
    entry::encode_entry(signed)
}

#[tokio::test]
async fn one_bad_entry_leaves_the_others_and_gets_what_submit_gives() {
    let log = Log::start();
    let key = log.certifier("cb.example/eucc", &["EUCC"]).signing_key();
    let mut client = log.client().await;
    let logged = issue_entry(&key, certificate("EUCC", "BATCH-0"));
    let first = client.submit(logged.clone(), false).await.unwrap();
    let size_before = log.tree_size();

    let operator =
        certlog_client::retire_certifier(&log.operator_key(), "cb.example/eucc", "x", None, 1)
            .unwrap();
    let entries = vec![
        issue_entry(&key, certificate("EUCC", "BATCH-1")),
        forged(&key, "BATCH-2"),
        issue_entry(&key, certificate("EUCC", "BATCH-3")),
        logged,
        operator.clone(),
        issue_entry(&key, certificate("EUCC", "BATCH-4")),
    ];
    let results = client.submit_batch(entries.clone()).await.unwrap();
    assert_eq!(results.len(), entries.len());

    let accepted: Vec<_> = [0, 2, 5]
        .iter()
        .map(|&i| results[i].as_ref().unwrap().clone())
        .collect();
    for a in &accepted {
        assert!(!a.duplicate);
        assert!(a.index >= size_before && a.index < a.tree_size, "{a:?}");
    }
    let again = results[3].as_ref().unwrap();
    assert!(again.duplicate);
    assert_eq!(again.index, first.index);

    // The refused ones: the same code and message as Submit gives each alone.
    for (i, entry) in [(1, &entries[1]), (4, &operator)] {
        let in_batch = match &results[i] {
            Err(ClientError::Rpc(status)) => status.clone(),
            other => panic!("entry {i}: expected a refusal, got {other:?}"),
        };
        let alone = refusal(client.submit(entry.clone(), false).await);
        assert_eq!(in_batch.code(), alone.code(), "entry {i}");
        assert_eq!(in_batch.message(), alone.message(), "entry {i}");
    }
    assert!(matches!(&results[1], Err(ClientError::Rpc(s))
        if s.code() == Code::Unauthenticated && s.message().contains("does not verify")));
    assert!(matches!(&results[4], Err(ClientError::Rpc(s))
        if s.code() == Code::InvalidArgument && s.message().contains("Admin service")));

    // The accepted ones are in the log, with proofs against a signed checkpoint.
    for a in &accepted {
        let proof = client
            .inclusion_proof(Ok(a.index), a.tree_size)
            .await
            .unwrap();
        assert_eq!(proof.leaf_hash, a.leaf_hash);
        assert!(proof.checkpoint.is_some());
    }
    // Three new entries and the map heads of their batches.
    assert!(log.tree_size() >= size_before + 3);
}

#[tokio::test]
async fn an_empty_or_too_large_batch_is_invalid_argument() {
    let log = Log::start();
    let key = log.certifier("cb.example/eucc", &["EUCC"]).signing_key();
    let mut client = log.client().await;
    let size = log.tree_size();
    assert_refused(
        client.submit_batch(Vec::new()).await,
        Code::InvalidArgument,
        "SubmitBatch takes 1 to 1024 entries, not 0",
    );
    let entry = issue_entry(&key, certificate("EUCC", "TOO-MANY"));
    assert_refused(
        client
            .submit_batch(vec![entry; MAX_BATCH_ENTRIES + 1])
            .await,
        Code::InvalidArgument,
        "not 1025",
    );
    assert_eq!(
        log.tree_size(),
        size,
        "nothing of a refused batch is logged"
    );
}

/// A new log with `certlog load --count COUNT --batch BATCH --json` (and `more` arguments) run
/// on it: the log and the report.
fn loaded(count: &str, batch: &str, more: &[&str]) -> (Log, serde_json::Value) {
    let log = Log::start();
    let certifier = log.certifier("cb.example/load", &["EUCC"]);
    let key = certifier.key_arg();
    let mut args = vec![
        "load",
        "--key",
        key,
        "--scheme",
        "EUCC",
        "--count",
        count,
        "--batch",
        batch,
        "--concurrency",
        "4",
    ];
    args.extend(more);
    let report = log.cli_json(&args);
    (log, report)
}

#[test]
fn load_with_batches_acknowledges_every_entry() {
    let (_log, report) = loaded("300", "50", &[]);
    assert_eq!(report["acknowledged"], 300, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["batch"], 50, "{report}");
    let before = report["tree_size_before"].as_u64().unwrap();
    let after = report["tree_size_after"].as_u64().unwrap();
    assert!(after >= before + 300, "{report}");
    assert_eq!(
        report["latency_ms"], report["checkpoint_inclusion_latency_ms"],
        "{report}"
    );
    assert!(
        report["latency_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}

#[test]
fn load_at_a_set_rate_acknowledges_every_entry() {
    let (_log, report) = loaded("200", "20", &["--rate", "2000"]);
    assert_eq!(report["acknowledged"], 200, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["rate"], 2000, "{report}");
}

#[test]
fn load_read_measures_proofs_statuses_tiles_and_bundles() {
    let (log, write) = loaded("600", "100", &[]);
    assert_eq!(write["errors"], 0, "{write}");
    let report = log.cli_json(&["load", "--read", "--count", "200", "--concurrency", "8"]);
    for kind in ["inclusion", "status", "tiles", "bundles"] {
        let k = &report["kinds"][kind];
        assert_eq!(k["errors"], 0, "{kind}: {report}");
        assert_eq!(k["operations"], 200, "{kind}: {report}");
        assert!(
            k["operations_per_second"].as_f64().unwrap() > 0.0,
            "{kind}: {report}"
        );
    }
    assert!(report["tree_size"].as_u64().unwrap() >= 600, "{report}");
}

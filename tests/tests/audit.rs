//! `certlog audit` against the real certlogd: a clean log audited from scratch and then
//! incrementally; a forked log (two certlogd on copies of one data directory); an entry changed
//! in storage behind the log's back. The evidence of each misbehaviour is checked offline with
//! `certlog-verify evidence`, and a one-byte change to it makes it show nothing. Evidence made
//! up against an honest log (any bytes beside its real inclusion proof, a made-up registry) is
//! never confirmed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use certlog_tests::{Certifier, Log, describe, example, exit_code, success, verify};
use certlog_verifier::proto::MisbehaviourEvidence;
use certlog_verifier::proto::misbehaviour_evidence::Kind;
use prost::Message as _;
use serde_json::Value;

/// DIR/operator.vkey, as a string.
fn operator_vkey(log: &Log) -> String {
    log.data_dir()
        .join("operator.vkey")
        .to_str()
        .unwrap()
        .to_string()
}

/// `certlog --json audit --state STATE ARGS` against `log`: the exit status and the document.
fn audit(log: &Log, state: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json", "audit", "--state", state];
    all.extend_from_slice(args);
    let output = log.cli(&all);
    let code = output.status.code().unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON document ({e}): {}", describe(&output)));
    (code, doc)
}

/// An audit that must find the log consistent.
fn audit_ok(log: &Log, state: &str, args: &[&str]) -> Value {
    let (code, doc) = audit(log, state, args);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["consistent"], true, "{doc}");
    doc
}

/// `certlog-verify evidence FILE --log-vkey ...`: the exit status and stdout.
fn check_evidence(log: &Log, file: &str) -> (i32, String) {
    let output = verify(&["evidence", file, "--log-vkey", &log.log_vkey_file()]);
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    (output.status.code().unwrap(), stdout)
}

fn change(log: &Log, cb: &Certifier, command: &str, scheme: &str, id: &str) {
    log.cli_json(&[
        command,
        "--scheme",
        scheme,
        "--id",
        id,
        "--reason",
        "a reason",
        "--key",
        cb.key_arg(),
        "--wait",
    ]);
}

/// A certifier and the four valid examples.
fn populate(log: &Log) -> Certifier {
    let cb = log.certifier("cb.example", &["EUCC", "Matter", "NESAS", "SG-CLS"]);
    for file in [
        "eucc-camera.json",
        "matter-plug.json",
        "nesas-gnb.json",
        "etsi-303645-thermostat.json",
    ] {
        log.submit(&example(file), &cb);
    }
    cb
}

/// A certificate of `scheme` with a fresh ID, submitted with --wait.
fn submit_new(log: &Log, cb: &Certifier, id: &str) -> Value {
    let certificate = certlog_tests::certificate("EUCC", id);
    let file = log.work_path(&format!("{id}.json"));
    std::fs::write(&file, serde_json::to_string(&certificate).unwrap()).unwrap();
    log.submit(Path::new(&file), cb)
}

#[test]
fn a_clean_log_is_audited_from_scratch_then_incrementally() {
    let log = Log::start();
    let cb = populate(&log);
    change(&log, &cb, "revoke", "EUCC", "EUCC-3095-2026-11-0042");
    change(&log, &cb, "suspend", "Matter", "CSA26123ZIGB0042-24");
    change(&log, &cb, "reinstate", "Matter", "CSA26123ZIGB0042-24");
    log.certifier("cb2.example", &["Matter"]);
    let size = log.tree_size();
    let state = log.work_path("audit.state");
    let operator = operator_vkey(&log);

    // A new state needs the operator's key.
    let (code, doc) = audit(&log, &state, &[]);
    assert_eq!(code, 2, "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("--operator-vkey"));
    assert!(!Path::new(&state).exists());

    let first = audit_ok(&log, &state, &["--operator-vkey", &operator]);
    assert_eq!(first["from_size"], 0);
    assert_eq!(first["tree_size"], size);
    assert_eq!(first["entries"], size);
    assert_eq!(first["certificates_issued"], 4);
    assert_eq!(
        first["status_changes"],
        serde_json::json!({"revoked": 1, "suspended": 1, "reinstated": 1, "withdrawn": 0})
    );
    assert_eq!(first["certifiers_registered"], 2);
    assert_eq!(first["certifiers_retired"], 0);
    // Every one of the 9 acknowledged statements ended a batch with its map head.
    assert_eq!(first["map_heads"], size - 9, "{first}");
    assert_eq!(first["totals"]["certificates"], 4);
    assert_eq!(first["root"], log.checkpoint().checkpoint.root.to_base64());
    assert!(Path::new(&state).is_file());

    // More than an entry bundle, so that the next audit shows it downloads only the new ones.
    let load = log.cli_json(&[
        "load",
        "--key",
        cb.key_arg(),
        "--scheme",
        "EUCC",
        "--count",
        "300",
        "--concurrency",
        "16",
    ]);
    assert_eq!(load["errors"], 0, "{load}");
    let second = audit_ok(&log, &state, &[]);
    let grown = log.tree_size();
    assert_eq!(second["from_size"], size);
    assert_eq!(second["tree_size"], grown);
    assert_eq!(second["entries"], grown - size);
    assert_eq!(second["certificates_issued"], 300);
    assert_eq!(second["totals"]["certificates"], 304);

    submit_new(&log, &cb, "EUCC-AUDIT-1");
    submit_new(&log, &cb, "EUCC-AUDIT-2");
    let third = audit_ok(&log, &state, &["--operator-vkey", &operator]);
    let size3 = log.tree_size();
    assert_eq!(third["from_size"], grown);
    assert_eq!(third["entries"], size3 - grown);
    assert_eq!(third["certificates_issued"], 2);
    // Only the last entry bundle: the entries before the partial one are not downloaded again.
    let downloaded = third["downloaded_entries"].as_u64().unwrap();
    assert_eq!(downloaded, size3 % 256, "{third}");
    assert!(downloaded < size3);

    // Nothing new: nothing downloaded, still consistent.
    let again = audit_ok(&log, &state, &[]);
    assert_eq!(again["entries"], 0);
    assert_eq!(again["downloaded_entries"], 0);
    assert_eq!(again["tree_size"], size3);

    // The state was made with the operator's key: another one is refused.
    let other = log.keygen("someone.example");
    let (code, doc) = audit(&log, &state, &["--operator-vkey", &other.vkey]);
    assert_eq!(code, 2, "{doc}");

    // Text output, for people.
    let output = log.cli(&["audit", "--state", &state]);
    let text = success(&output);
    assert!(text.starts_with("consistent: "), "{text}");
    assert!(text.contains("0 new entries audited"), "{text}");
}

#[test]
fn a_fork_is_found_and_its_evidence_checks_out_offline() {
    let mut a = Log::start();
    let cb = a.certifier("cb.example", &["EUCC"]);
    submit_new(&a, &cb, "EUCC-COMMON-1");
    let b = a.fork();
    assert_eq!(a.checkpoint().checkpoint, b.checkpoint().checkpoint);
    // The two logs go on apart; B grows larger.
    submit_new(&a, &cb, "EUCC-A-1");
    for i in 1..=3 {
        submit_new(&b, &cb, &format!("EUCC-B-{i}"));
    }
    assert!(b.tree_size() > a.tree_size());

    let state = a.work_path("audit.state");
    audit_ok(&a, &state, &["--operator-vkey", &operator_vkey(&a)]);
    let saved = std::fs::read(&state).unwrap();

    // B's tree does not extend the tree of A, signed with the same key.
    let (code, doc) = audit(&b, &state, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["consistent"], false);
    assert_eq!(doc["misbehaviour"], "fork", "{doc}");
    assert_eq!(doc["proven"], true, "{doc}");
    let evidence = doc["evidence"].as_str().unwrap().to_string();
    assert_eq!(evidence, format!("{state}.evidence"));
    // The state is left as it was.
    assert_eq!(std::fs::read(&state).unwrap(), saved);

    let (code, stdout) = check_evidence(&a, &evidence);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("misbehaviour confirmed"), "{stdout}");
    assert!(stdout.contains("does not extend"), "{stdout}");

    // One byte of the proof changed: the evidence shows nothing.
    let bytes = std::fs::read(&evidence).unwrap();
    let decoded = MisbehaviourEvidence::decode(&bytes[..]).unwrap();
    let Some(Kind::Fork(fork)) = &decoded.kind else {
        panic!("not a fork: {decoded:?}")
    };
    let hash = &fork.proof[0];
    let at = bytes
        .windows(hash.len())
        .position(|w| w == &hash[..])
        .unwrap();
    let mut tampered = bytes.clone();
    tampered[at + hash.len() - 1] ^= 1;
    let tampered_file = a.work_path("tampered.evidence");
    std::fs::write(&tampered_file, &tampered).unwrap();
    let (code, stdout) = check_evidence(&a, &tampered_file);
    assert_eq!(code, 1, "{stdout}");
    // Another log's key: nothing shown about this one.
    let other = Log::start();
    let output = verify(&["evidence", &evidence, "--log-vkey", &other.log_vkey_file()]);
    exit_code(&output, 1);
    // Not evidence at all: unreadable.
    let garbage = a.work_path("garbage.evidence");
    std::fs::write(&garbage, b"\xff\xff\xff\xff").unwrap();
    assert_eq!(check_evidence(&a, &garbage).0, 2);

    // The same audit with B's own state finds B consistent.
    let state_b = b.work_path("audit.state");
    audit_ok(&b, &state_b, &["--operator-vkey", &operator_vkey(&b)]);
}

#[test]
fn an_entry_changed_behind_the_logs_back_is_found() {
    // On redb, whose files this test edits.
    let mut log = Log::start_with(&["--storage", "redb"]);
    let cb = populate(&log);
    let receipt = submit_new(&log, &cb, "EUCC-TAMPER-0001");
    submit_new(&log, &cb, "EUCC-AFTER-1");
    let index = receipt["index"].as_u64().unwrap();
    let checkpoint = log.checkpoint();

    // Change one byte of the certificate ID in the stored entry (layout of
    // server/src/storage/kv.rs: key b'e' || index, big-endian).
    let status = log.stop_gracefully();
    assert!(status.success());
    {
        use redb::ReadableTable as _;
        const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("log");
        let db = redb::Database::open(log.data_dir().join("log.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            let key = [&b"e"[..], &index.to_be_bytes()].concat();
            let mut entry = table.get(&key[..]).unwrap().unwrap().value().to_vec();
            let id = b"EUCC-TAMPER-0001";
            let at = entry.windows(id.len()).position(|w| w == id).unwrap();
            entry[at + id.len() - 1] = b'2';
            table.insert(&key[..], &entry[..]).unwrap();
        }
        tx.commit().unwrap();
    }
    log.restart();
    // The log signs nothing new: the same checkpoint, over the old leaf.
    assert_eq!(log.checkpoint().checkpoint, checkpoint.checkpoint);

    let state = log.work_path("audit.state");
    let (code, doc) = audit(&log, &state, &["--operator-vkey", &operator_vkey(&log)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["misbehaviour"], "leaf_mismatch", "{doc}");
    assert!(
        doc["description"]
            .as_str()
            .unwrap()
            .contains(&format!("entry {index} ")),
        "{doc}"
    );
    assert!(!Path::new(&state).exists(), "no state is saved");
    // The audit keeps what the log served, but the log signs only its leaf hashes: the file
    // cannot prove which bytes the log served, so it proves nothing to others.
    assert_eq!(doc["proven"], false, "{doc}");
    let evidence = doc["evidence"].as_str().unwrap();
    let (code, stdout) = check_evidence(&log, evidence);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("the log does not sign the bytes it serves")
            && stdout.contains(&format!("entry {index}: ")),
        "{stdout}"
    );

    // Following the log stops at the first misbehaviour.
    let followed = log.work_path("followed.state");
    let (code, doc) = audit(
        &log,
        &followed,
        &[
            "--operator-vkey",
            &operator_vkey(&log),
            "--follow",
            "--interval",
            "100ms",
        ],
    );
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["misbehaviour"], "leaf_mismatch", "{doc}");

    // The evidence with the entry the log signed shows nothing.
    let bytes = std::fs::read(evidence).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == b"EUCC-TAMPER-0002")
        .unwrap();
    let mut restored = bytes.clone();
    restored[at + 15] = b'1';
    let restored_file = log.work_path("restored.evidence");
    std::fs::write(&restored_file, &restored).unwrap();
    let (code, stdout) = check_evidence(&log, &restored_file);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("is the leaf the log signed"), "{stdout}");
}

#[test]
fn a_forbidden_entry_the_log_signed_is_found() {
    // On redb, whose files this test edits.
    let mut log = Log::start_with(&["--storage", "redb"]);
    let cb = populate(&log);
    submit_new(&log, &cb, "EUCC-BEFORE-1");
    // The log's copy of the registry is changed behind its back (the certifier's record in
    // storage gains a scheme it was never registered for), so the log accepts a certificate
    // under that scheme: its signed tree then breaks its own rules.
    assert!(log.stop_gracefully().success());
    {
        use prost::Message as _;
        use redb::ReadableTable as _;
        const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("log");
        let db = redb::Database::open(log.data_dir().join("log.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            let key = [&b"r"[..], b"cb.example"].concat();
            let bytes = table.get(&key[..]).unwrap().unwrap().value().to_vec();
            let mut record = certlog_verifier::proto::CertifierRecord::decode(&bytes[..]).unwrap();
            record.schemes.push("CC".into());
            table.insert(&key[..], &record.encode_to_vec()[..]).unwrap();
        }
        tx.commit().unwrap();
    }
    log.restart();
    let forbidden = certlog_tests::certificate("CC", "CC-2026-0001");
    let file = log.work_path("forbidden.json");
    std::fs::write(&file, serde_json::to_string(&forbidden).unwrap()).unwrap();
    let receipt = log.submit(Path::new(&file), &cb);
    let index = receipt["index"].as_u64().unwrap();
    submit_new(&log, &cb, "EUCC-AFTER-2");

    let state = log.work_path("audit.state");
    let (code, doc) = audit(&log, &state, &["--operator-vkey", &operator_vkey(&log)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["misbehaviour"], "rule_violation", "{doc}");
    let description = doc["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("entry {index} "))
            && description.contains("may not publish under scheme \"CC\""),
        "{doc}"
    );
    assert_eq!(doc["proven"], true, "{doc}");
    let evidence = doc["evidence"].as_str().unwrap();
    // The operator's key is the checker's to give.
    let output = verify(&["evidence", evidence, "--log-vkey", &log.log_vkey_file()]);
    exit_code(&output, 2);
    let output = verify(&[
        "evidence",
        evidence,
        "--log-vkey",
        &log.log_vkey_file(),
        "--operator-vkey",
        &operator_vkey(&log),
        "--json",
    ]);
    let checked: Value = serde_json::from_str(&success(&output)).unwrap();
    assert_eq!(checked["misbehaviour"], "rule_violation", "{checked}");
    assert_eq!(
        checked["operator_vkey"],
        log.operator_key().verifier_key().to_string()
    );
    // Checked with another operator key, the registry itself breaks the rules: what the
    // evidence shows depends on the key, which is why the checker must give the operator's.
    let other = log.keygen("someone.example");
    let output = verify(&[
        "evidence",
        evidence,
        "--log-vkey",
        &log.log_vkey_file(),
        "--operator-vkey",
        &other.vkey,
    ]);
    let text = success(&output);
    assert!(text.contains("entry 0 "), "{text}");
}

/// Writes `evidence` to a file in the work directory; returns its path.
fn write_evidence(log: &Log, name: &str, evidence: &MisbehaviourEvidence) -> String {
    let file = log.work_path(name);
    std::fs::write(&file, evidence.encode_to_vec()).unwrap();
    file
}

/// The log's real inclusion proof of an entry, with other bytes as "served": the log does not
/// sign what it serves, so no file can prove which bytes it served. An honest log is not
/// confirmed to misbehave: exit 1, with the reason.
#[test]
fn a_leaf_mismatch_cannot_frame_an_honest_log() {
    let log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]);
    let receipt = submit_new(&log, &cb, "EUCC-HONEST-1");
    let checkpoint = certlog_verifier::SignedCheckpoint::verify(
        receipt["checkpoint"].as_str().unwrap().as_bytes(),
        &log.log_vkey(),
    )
    .unwrap();
    let hash = |v: &Value| certlog_verifier::Hash::from_base64(v.as_str().unwrap()).unwrap();
    let proof: Vec<_> = receipt["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    let framed = certlog_log::evidence::leaf_mismatch(
        &checkpoint,
        receipt["index"].as_u64().unwrap(),
        b"bytes the log never served".to_vec(),
        &hash(&receipt["leaf_hash"]),
        &proof,
    );
    let file = write_evidence(&log, "framed.evidence", &framed);
    let (code, stdout) = check_evidence(&log, &file);
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains("misbehaviour confirmed"), "{stdout}");
    assert!(
        stdout.contains("the log does not sign the bytes it serves"),
        "{stdout}"
    );
}

/// Every entry of an honest log, with a made-up operator key written into rule-violation
/// evidence: by that key, the real registration breaks the rules. The checker must give the
/// operator's key itself: without --operator-vkey a usage error (2) naming the flag; with the
/// real operator's key, the entries follow the rules (1).
#[test]
fn a_made_up_registry_cannot_frame_an_honest_log() {
    let log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]);
    submit_new(&log, &cb, "EUCC-HONEST-1");
    submit_new(&log, &cb, "EUCC-HONEST-2");
    let checkpoint = log.checkpoint();
    let size = checkpoint.checkpoint.size;
    assert!(size < 256, "one partial entry bundle");
    let bundle = log.http_get(&format!("/tile/entries/000.p/{size}"));
    assert_eq!(bundle.status, 200, "{}", bundle.text());
    let entries: Vec<Vec<u8>> = certlog_log::entry_bundle::parse_entry_bundle(&bundle.body)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let made_up = log.keygen("op.example").vkey.parse().unwrap();
    let reason = certlog_log::replay::ReplayError::MapHead {
        index: 0,
        reason: "made up".into(),
    };
    // The whole tree: no consistency proof needed.
    let framed =
        certlog_log::evidence::rule_violation(&checkpoint, entries, &[], &made_up, &reason);
    let file = write_evidence(&log, "framed.evidence", &framed);

    let output = verify(&["evidence", &file, "--log-vkey", &log.log_vkey_file()]);
    exit_code(&output, 2);
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(stderr.contains("--operator-vkey"), "{}", describe(&output));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("confirmed"));

    let output = verify(&[
        "evidence",
        &file,
        "--log-vkey",
        &log.log_vkey_file(),
        "--operator-vkey",
        &operator_vkey(&log),
    ]);
    exit_code(&output, 1);
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(stdout.contains("every entry follows the rules"), "{stdout}");
}

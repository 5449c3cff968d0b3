//! A log never signs a second history by accident, and the operator's private key stays off the
//! log server (issue 18): certlogd refuses to start when its key may have signed a tree that its
//! data directory no longer holds (a deleted or an emptied database, with every backend),
//! `certlogd restore` brings such a log back from a copy, a fresh log stopped before its first
//! entry starts again, and certlogd needs only DIR/operator.vkey.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use certlog_server::storage::Backend;
use certlog_tests::{Certifier, Log, certlog, certlogd, copy_dir, describe, example, success};
use certlog_verifier::SignedCheckpoint;

/// Every storage backend, by its `--storage` name.
const BACKENDS: [(&str, Backend); 3] = [
    ("fjall", Backend::Fjall),
    ("redb", Backend::Redb),
    ("sled", Backend::Sled),
];

/// A log of `storage` with a certifier registered for EUCC, Matter and SG-CLS and the EUCC
/// certificate of examples/, stopped; and its last checkpoint.
fn stopped_log_with_entries(storage: &str) -> (Log, Certifier, SignedCheckpoint) {
    let mut log = Log::start_with(&["--storage", storage]);
    let cb = log.certifier("cb.example", &["EUCC", "Matter", "SG-CLS"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let checkpoint = log.checkpoint();
    assert!(checkpoint.checkpoint.size > 0);
    assert!(log.stop_gracefully().success());
    (log, cb, checkpoint)
}

/// Removes a database, a directory or a file.
fn remove_database(path: &Path) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
}

/// Replaces the database of `log` with the empty database of a new log of `storage`.
fn empty_database(log: &Log, storage: &str, backend: Backend) {
    let mut empty = Log::start_with(&["--storage", storage]);
    assert_eq!(empty.tree_size(), 0);
    assert!(empty.stop_gracefully().success());
    let (from, to) = (
        backend.path(&empty.data_dir()),
        backend.path(&log.data_dir()),
    );
    remove_database(&to);
    if from.is_dir() {
        copy_dir(&from, &to);
    } else {
        std::fs::copy(&from, &to).unwrap();
    }
}

/// Starts the stopped `log` with `args`, which must fail; returns what certlogd wrote.
fn refused_start(log: &mut Log, args: &[&str]) -> String {
    match log.try_restart_with(args) {
        Ok(()) => panic!("certlogd started on {}", log.data_dir().display()),
        Err(failure) => {
            let status = failure.status.expect("certlogd exited");
            assert!(!status.success(), "{status}: {}", failure.stderr);
            failure.stderr
        }
    }
}

/// The refusal names the danger and both ways on.
fn assert_says_how_to_go_on(stderr: &str, signed: u64) {
    for needle in [
        "second history",
        &format!("signed a tree of size {signed}"),
        "certlogd restore --from",
        "new key",
        "log.key",
    ] {
        assert!(stderr.contains(needle), "{needle:?} is not in: {stderr}");
    }
}

#[test]
fn a_deleted_database_is_refused_with_every_backend() {
    for (storage, backend) in BACKENDS {
        let (mut log, _, checkpoint) = stopped_log_with_entries(storage);
        let database = backend.path(&log.data_dir());
        remove_database(&database);
        let stderr = refused_start(&mut log, &["--storage", storage]);
        assert_says_how_to_go_on(&stderr, checkpoint.checkpoint.size);
        assert!(stderr.contains("is missing"), "{stderr}");
        // Nothing was made in its place: the next start is refused too.
        assert!(!database.exists(), "{storage}: a new database was created");
        refused_start(&mut log, &["--storage", storage]);
    }
}

#[test]
fn an_emptied_database_is_refused_with_every_backend() {
    for (storage, backend) in BACKENDS {
        let (mut log, _, checkpoint) = stopped_log_with_entries(storage);
        empty_database(&log, storage, backend);
        let stderr = refused_start(&mut log, &["--storage", storage]);
        assert_says_how_to_go_on(&stderr, checkpoint.checkpoint.size);
        assert!(stderr.contains("holds a tree of size 0"), "{stderr}");
    }
}

#[test]
fn a_fresh_log_stopped_before_its_first_entry_starts_again() {
    for (storage, backend) in BACKENDS {
        let mut log = Log::start_with(&["--storage", storage]);
        let empty = log.checkpoint();
        assert_eq!(empty.checkpoint.size, 0);
        log.restart();
        assert_eq!(log.checkpoint().checkpoint.root, empty.checkpoint.root);
        // Its key signed only the empty tree: without the database it starts again too.
        assert!(log.stop_gracefully().success());
        remove_database(&backend.path(&log.data_dir()));
        log.restart();
        let cb = log.certifier("cb.example", &["EUCC"]);
        log.submit(&example("eucc-camera.json"), &cb);
        assert!(log.tree_size() > 0);
    }
}

/// The copy of a stopped log's data directory, in its work directory.
fn copy_of(log: &Log, name: &str) -> PathBuf {
    let copy = log.work_dir().join(name);
    copy_dir(&log.data_dir(), &copy);
    copy
}

fn restore(log: &Log, copy: &Path, storage: &str) -> std::process::Output {
    certlogd(&[
        "restore",
        "--from",
        copy.to_str().unwrap(),
        "--data",
        log.data_dir().to_str().unwrap(),
        "--storage",
        storage,
    ])
}

#[test]
fn restore_brings_a_log_back_from_a_copy_with_every_backend() {
    for (storage, backend) in BACKENDS {
        let (mut log, cb, checkpoint) = stopped_log_with_entries(storage);
        let copy = copy_of(&log, "copy");
        empty_database(&log, storage, backend);
        refused_start(&mut log, &["--storage", storage]);
        success(&restore(&log, &copy, storage));
        log.try_restart_with(&["--storage", storage]).unwrap();
        assert_eq!(log.checkpoint(), checkpoint, "{storage}");
        let receipt = log.submit(&example("matter-plug.json"), &cb);
        assert!(receipt["index"].as_u64().unwrap() >= checkpoint.checkpoint.size);
    }
}

#[test]
fn restore_refuses_a_copy_that_holds_less_or_another_log() {
    let (mut log, cb, _) = stopped_log_with_entries("fjall");
    let old = copy_of(&log, "old");
    log.restart();
    log.submit(&example("etsi-303645-thermostat.json"), &cb);
    let checkpoint = log.checkpoint();
    assert!(log.stop_gracefully().success());
    let database = Backend::Fjall.path(&log.data_dir());
    remove_database(&database);

    // A copy made before the last checkpoint would be a second history from there on.
    let output = restore(&log, &old, "fjall");
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "signed a tree of size {}",
            checkpoint.checkpoint.size
        )),
        "{stderr}"
    );
    assert!(
        !database.exists(),
        "a refused restore put a database in place"
    );

    // Another log's data directory.
    let mut other = Log::start();
    let cb3 = other.certifier("cb3.example", &["EUCC"]);
    other.submit(&example("eucc-camera.json"), &cb3);
    assert!(other.stop_gracefully().success());
    let output = restore(&log, &other.data_dir(), "fjall");
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("log.vkey"), "{stderr}");
    assert!(
        !database.exists(),
        "a refused restore put a database in place"
    );
    refused_start(&mut log, &[]);
}

#[test]
fn the_operator_key_can_leave_the_data_directory_after_the_first_start() {
    let mut log = Log::start();
    let first = log.stderr();
    assert!(
        first.contains("operator.key") && first.contains("elsewhere"),
        "the first start does not say to move operator.key: {first}"
    );
    assert!(log.stop_gracefully().success());
    let kept = log.work_dir().join("operator.key");
    std::fs::rename(log.data_dir().join("operator.key"), &kept).unwrap();
    log.restart();
    let cb = log.keygen("cb.example");
    log.register_with(kept.to_str().unwrap(), &cb, &["EUCC"]);
    let receipt = log.submit(&example("eucc-camera.json"), &cb);
    assert!(receipt["index"].as_u64().is_some());
    assert!(!log.data_dir().join("operator.key").exists());
}

/// Makes an operator key with `certlog keygen` in `dir`; returns the private and the verifier
/// key files.
fn operator_key(dir: &Path, name: &str) -> (String, String) {
    let key = dir.join(format!("{name}.key"));
    let vkey = dir.join(format!("{name}.vkey"));
    let output = certlog(&[
        "keygen",
        "--name",
        &format!("{name}.example/operator"),
        "--out",
        key.to_str().unwrap(),
    ]);
    std::fs::write(&vkey, success(&output)).unwrap();
    (
        key.to_str().unwrap().to_string(),
        vkey.to_str().unwrap().to_string(),
    )
}

#[test]
fn a_log_started_with_the_operators_vkey_never_holds_its_private_key() {
    let keys = tempfile::tempdir().unwrap();
    let (key, vkey) = operator_key(keys.path(), "operator");
    let mut log = Log::start_with(&["--operator-vkey", &vkey]);
    let data = log.data_dir();
    assert!(!data.join("operator.key").exists());
    assert_eq!(
        std::fs::read_to_string(data.join("operator.vkey")).unwrap(),
        std::fs::read_to_string(&vkey).unwrap()
    );
    let cb = log.keygen("cb.example");
    log.register_with(&key, &cb, &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    // The same key again, and none: the log starts.
    log.restart();
    log.restart_with(&[]);

    // Another operator key for the existing log is refused, and DIR/operator.vkey kept.
    let (_, other) = operator_key(keys.path(), "other");
    assert!(log.stop_gracefully().success());
    let stderr = refused_start(&mut log, &["--operator-vkey", &other]);
    assert!(
        stderr.contains("--operator-vkey") && stderr.contains("operator.vkey"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("operator.vkey")).unwrap(),
        std::fs::read_to_string(&vkey).unwrap()
    );
}

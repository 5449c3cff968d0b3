//! The operator's private key stays off the log server (issue 18): certlogd needs only
//! DIR/operator.vkey.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use certlog_tests::{Log, certlog, example, success};

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

//! What the operator can do when a certifier cannot be trusted or is gone (docs/trust.md "When
//! a certifier's key is lost or stolen"): change the status of any certificate, also after its
//! issuer was retired, with the change shown as the operator's; and what a status answer is
//! worth: `certlog status` and the status changes rely only on a proven status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Log, describe, example, exit_code, success, verify};

const EUCC: (&str, &str) = ("EUCC", "EUCC-3095-2026-11-0042");

/// `certlog-verify bundle` of the camera's fresh bundle; returns the exit code and stdout.
fn verify_camera(log: &Log, name: &str) -> (i32, String) {
    let file = log.work_path(name);
    success(&log.cli(&["bundle", "--scheme", EUCC.0, "--id", EUCC.1, "--out", &file]));
    let output = verify(&[
        "bundle",
        &file,
        "--log-vkey",
        &log.log_vkey_file(),
        "--scheme",
        EUCC.0,
        "--id",
        EUCC.1,
    ]);
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// `certlog COMMAND --scheme EUCC --id ... --reason REASON SIGNER... --wait`.
fn change(log: &Log, command: &str, reason: &str, signer: &[&str]) -> std::process::Output {
    let mut args = vec![
        command, "--scheme", EUCC.0, "--id", EUCC.1, "--reason", reason, "--wait",
    ];
    args.extend_from_slice(signer);
    log.cli(&args)
}

#[test]
fn the_operator_revokes_a_retired_certifiers_certificate() {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let operator_key = log.operator_key_file();
    success(&log.cli(&[
        "certifier",
        "retire",
        "--operator-key",
        &operator_key,
        "--name",
        &cb.name,
        "--reason",
        "its key was stolen",
        "--wait",
    ]));
    assert_eq!(verify_camera(&log, "before.bundle").0, 0);

    // The retired certifier can no longer change it...
    let output = change(&log, "revoke", "key compromise", &["--key", cb.key_arg()]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is retired"),
        "{}",
        describe(&output)
    );
    // ...the operator can, and the bundle shows it as the operator's, with its reason.
    let output = change(
        &log,
        "revoke",
        "issuer's key stolen",
        &["--operator-key", &operator_key],
    );
    assert!(
        success(&output).contains("revoked by the operator"),
        "{}",
        describe(&output)
    );
    let (code, out) = verify_camera(&log, "after.bundle");
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("REVOKED: ")
            && out.contains("was revoked by the log's operator")
            && out.contains("issuer's key stolen"),
        "{out}"
    );
    let status = log.cli_json(&["status", "--scheme", EUCC.0, "--id", EUCC.1]);
    assert_eq!(status["status"], "revoked");
    assert_eq!(status["changed_by_operator"], true);
}

#[test]
fn only_the_operator_lifts_its_suspension() {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let operator_key = log.operator_key_file();
    let operator = ["--operator-key", operator_key.as_str()];
    let certifier = ["--key", cb.key_arg()];

    success(&change(&log, "suspend", "under review", &operator));
    assert_eq!(verify_camera(&log, "suspended.bundle").0, 3);
    let output = change(&log, "reinstate", "we say it is fine", &certifier);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("was suspended by the operator: only the operator lifts it"),
        "{}",
        describe(&output)
    );
    success(&change(&log, "reinstate", "review closed", &operator));
    assert_eq!(verify_camera(&log, "reinstated.bundle").0, 0);
    // The certifier's own suspension is its to lift.
    success(&change(&log, "suspend", "recall", &certifier));
    success(&change(&log, "reinstate", "recall over", &certifier));
    assert_eq!(verify_camera(&log, "again.bundle").0, 0);

    // One signer, no more, no less.
    let output = log.cli(&[
        "revoke", "--scheme", EUCC.0, "--id", EUCC.1, "--reason", "r",
    ]);
    exit_code(&output, 2);
    let mut both = certifier.to_vec();
    both.extend(operator);
    exit_code(&change(&log, "revoke", "r", &both), 2);
}

#[test]
fn status_answers_are_proven() {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC"]);
    log.submit(&example("eucc-camera.json"), &cb);
    let output = log.cli(&["status", "--scheme", EUCC.0, "--id", EUCC.1]);
    let out = success(&output);
    assert!(
        out.starts_with("EUCC/EUCC-3095-2026-11-0042: active\n")
            && out.contains("proven against the log's checkpoint of size"),
        "{out}"
    );
    let out = success(&log.cli(&["status", "--scheme", "EUCC", "--id", "EUCC-NEVER"]));
    assert!(out.contains("not in the log (proven absent"), "{out}");

    // Checked against another log's key, the answer is refused, and so is a status change
    // that would follow it.
    let other = Log::start();
    let with_other_key = |args: &[&str]| {
        certlog_tests::certlog(
            &[
                &["--server", &log.url(), "--log-vkey", &other.log_vkey_file()][..],
                args,
            ]
            .concat(),
        )
    };
    let output = with_other_key(&["status", "--scheme", EUCC.0, "--id", EUCC.1]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("does not verify"),
        "{}",
        describe(&output)
    );
    let revoke = [
        "revoke",
        "--scheme",
        EUCC.0,
        "--id",
        EUCC.1,
        "--reason",
        "r",
        "--key",
        cb.key_arg(),
    ];
    assert!(!with_other_key(&revoke).status.success());

    // Without the log's key: the log's word, said to be unproven; no status change.
    let without_key =
        |args: &[&str]| certlog_tests::certlog(&[&["--server", &log.url()][..], args].concat());
    let out = success(&without_key(&[
        "status", "--scheme", EUCC.0, "--id", EUCC.1,
    ]));
    assert!(out.contains("unproven: the log's word only"), "{out}");
    let output = without_key(&revoke);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("needs the log's key"),
        "{}",
        describe(&output)
    );
    assert_eq!(verify_camera(&log, "still.bundle").0, 0);
}

//! What the operator can do when a certifier cannot be trusted or is gone (docs/trust.md "When
//! a certifier's key is lost or stolen"): change the status of any certificate, also after its
//! issuer was retired, with the change shown as the operator's; and what a status answer is
//! worth: `certlog status` and the status changes rely only on a proven status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Log, describe, example, exit_code, success};

const EUCC: (&str, &str) = ("EUCC", "EUCC-3095-2026-11-0042");

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
    assert_eq!(verify_certificate(&log, EUCC).0, 0);

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
    let (code, out) = verify_certificate(&log, EUCC);
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
    assert_eq!(verify_certificate(&log, EUCC).0, 3);
    let output = change(&log, "reinstate", "we say it is fine", &certifier);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("was suspended by the operator: only the operator lifts it"),
        "{}",
        describe(&output)
    );
    success(&change(&log, "reinstate", "review closed", &operator));
    assert_eq!(verify_certificate(&log, EUCC).0, 0);
    // The certifier's own suspension is its to lift.
    success(&change(&log, "suspend", "recall", &certifier));
    success(&change(&log, "reinstate", "recall over", &certifier));
    assert_eq!(verify_certificate(&log, EUCC).0, 0);

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
    let output = log.cli(&["status", "--scheme", "EUCC", "--id", "EUCC-NEVER"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not in the log (proven absent"),
        "{}",
        describe(&output)
    );

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
    assert_eq!(verify_certificate(&log, EUCC).0, 0);
}

/// `certlog-verify bundle` of a certificate's fresh bundle; returns the exit code and stdout.
fn verify_certificate(log: &Log, (scheme, id): (&str, &str)) -> (i32, String) {
    let file = log.work_path(&format!("{id}.bundle"));
    success(&log.cli(&["bundle", "--scheme", scheme, "--id", id, "--out", &file]));
    let output = log.verify_bundle(&file, (scheme, id), &[]);
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// Issues EUCC certificate `id` with `key`; waits for its checkpoint.
fn issue(log: &Log, key: &str, id: &str) {
    let file = log.write_certificate(&certlog_tests::certificate("EUCC", id));
    success(&log.cli(&["submit", &file, "--key", key, "--wait"]));
}

/// `certlog COMMAND` of EUCC certificate `id` signed with `key` (`--key` or
/// `--operator-key`).
fn change_of(log: &Log, command: &str, id: &str, signer: &[&str]) -> std::process::Output {
    let mut args = vec![
        command, "--scheme", "EUCC", "--id", id, "--reason", "because", "--wait",
    ];
    args.extend_from_slice(signer);
    log.cli(&args)
}

/// The audit from the empty log, with the operator's key: exit 0, the log kept its rules.
fn audited(log: &Log) {
    let state = log.work_path("audit.state");
    let operator = log.data_dir().join("operator.vkey");
    success(&log.cli(&[
        "audit",
        "--state",
        &state,
        "--operator-vkey",
        operator.to_str().unwrap(),
    ]));
}

#[test]
fn a_certifier_retired_as_compromised_is_stopped_from_its_compromise_on() {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC"]);
    let key = cb.key_arg();
    issue(&log, key, "BEFORE-1");
    issue(&log, key, "SUSPENDED-BEFORE");
    issue(&log, key, "ACTIVE-BEFORE");
    success(&change_of(
        &log,
        "suspend",
        "SUSPENDED-BEFORE",
        &["--key", key],
    ));

    // The key is stolen at T, a second after all of that was logged: the log's clock passes T
    // before the thief acts, so the thief's entries are in batches of time T or later.
    let stolen_at = certlog_verifier::certificate::json::now() + 1;
    while certlog_verifier::certificate::json::now() < stolen_at {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    issue(&log, key, "THIEF-1");
    success(&change_of(
        &log,
        "reinstate",
        "SUSPENDED-BEFORE",
        &["--key", key],
    ));
    success(&change_of(&log, "revoke", "ACTIVE-BEFORE", &["--key", key]));
    assert_eq!(verify_certificate(&log, ("EUCC", "THIEF-1")).0, 0);
    assert_eq!(verify_certificate(&log, ("EUCC", "SUSPENDED-BEFORE")).0, 0);
    assert_eq!(verify_certificate(&log, ("EUCC", "ACTIVE-BEFORE")).0, 3);

    let operator_key = log.operator_key_file();
    let since = certlog_verifier::certificate::json::format_time(stolen_at);
    success(&log.cli(&[
        "certifier",
        "retire",
        "--operator-key",
        &operator_key,
        "--name",
        &cb.name,
        "--reason",
        "signing key stolen",
        "--compromised-since",
        &since,
        "--wait",
    ]));

    // Logged before T: as it was. Logged from T on: revoked, whatever its record says.
    let (code, out) = verify_certificate(&log, ("EUCC", "BEFORE-1"));
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify_certificate(&log, ("EUCC", "THIEF-1"));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("REVOKED: CERTIFIER COMPROMISED: EUCC/THIEF-1")
            && out.contains("retired as compromised from index"),
        "{out}"
    );
    // The thief's status changes are void: the suspension stands, the revocation is undone.
    let (code, out) = verify_certificate(&log, ("EUCC", "SUSPENDED-BEFORE"));
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("SUSPENDED: "), "{out}");
    let (code, out) = verify_certificate(&log, ("EUCC", "ACTIVE-BEFORE"));
    assert_eq!(code, 0, "{out}");

    // The key signs nothing more; the operator still decides.
    let output = change_of(&log, "revoke", "BEFORE-1", &["--key", key]);
    assert!(!output.status.success(), "{}", describe(&output));
    success(&change_of(
        &log,
        "revoke",
        "SUSPENDED-BEFORE",
        &["--operator-key", &operator_key],
    ));
    assert_eq!(verify_certificate(&log, ("EUCC", "SUSPENDED-BEFORE")).0, 3);

    // An auditor replaying the log from its entries alone finds every map head right.
    audited(&log);
}

#[test]
fn a_certifier_rotates_its_key_without_freezing_what_it_issued() {
    let log = Log::start();
    let cb = log.certifier("cb.example/eucc", &["EUCC"]);
    issue(&log, cb.key_arg(), "OLD-KEY-1");

    // A new key of the same name, registered by the operator from this entry on.
    let new_key = log.work_path("cb-new.key");
    let output = log.cli(&["keygen", "--name", &cb.name, "--out", &new_key]);
    let new_vkey = success(&output).trim().to_string();
    let operator_key = log.operator_key_file();
    success(&log.cli(&[
        "certifier",
        "rotate",
        "--operator-key",
        &operator_key,
        "--name",
        &cb.name,
        "--vkey",
        &new_vkey,
        "--wait",
    ]));

    // The old key signs nothing more; the new one does, also for what the old one signed.
    let file = log.write_certificate(&certlog_tests::certificate("EUCC", "OLD-KEY-2"));
    let output = log.cli(&["submit", &file, "--key", cb.key_arg(), "--wait"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not its registered key"),
        "{}",
        describe(&output)
    );
    issue(&log, &new_key, "NEW-KEY-1");
    let (code, out) = verify_certificate(&log, ("EUCC", "OLD-KEY-1"));
    assert_eq!(code, 0, "{out}");
    assert_eq!(verify_certificate(&log, ("EUCC", "NEW-KEY-1")).0, 0);
    success(&change_of(
        &log,
        "suspend",
        "OLD-KEY-1",
        &["--key", &new_key],
    ));
    assert_eq!(verify_certificate(&log, ("EUCC", "OLD-KEY-1")).0, 3);

    // The same key again is no rotation.
    let output = log.cli(&[
        "certifier",
        "rotate",
        "--operator-key",
        &operator_key,
        "--name",
        &cb.name,
        "--vkey",
        &cb.vkey,
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    audited(&log);
}

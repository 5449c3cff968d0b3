//! `certlog` and `certlog-verify` with stdout closed, as `| head -1` leaves it once head is
//! done: they stop quietly (no panic, nothing on stderr) with the exit status they would have
//! had.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Bin, Log, describe, output_with_closed_stdout};

/// Asserts no panic, nothing on stderr and exit status `want`.
#[track_caller]
fn assert_quiet(output: &std::process::Output, want: i32) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{}", describe(output));
    assert_eq!(output.status.code(), Some(want), "{}", describe(output));
    assert_eq!(stderr, "", "{}", describe(output));
}

#[test]
fn certlog_stops_quietly_when_stdout_is_closed() {
    let log = Log::start();
    let key = log.work_path("cb.key");
    for json in [&[][..], &["--json"][..]] {
        let mut keygen = Bin::Certlog.command();
        keygen
            .args(json)
            .args(["keygen", "--name", "cb.example", "--out", &key]);
        assert_quiet(&output_with_closed_stdout(&mut keygen), 0);
        std::fs::remove_file(&key).unwrap();

        // Several lines of text.
        let mut checkpoint = log.cli_command(&[json, &["checkpoint"][..]].concat());
        assert_quiet(&output_with_closed_stdout(&mut checkpoint), 0);

        // An audit, which prints as it goes: it still saves its state.
        let state = log.work_path(&format!("audit{}.state", json.len()));
        let operator = log.data_dir().join("operator.vkey");
        let mut audit = log.cli_command(
            &[
                json,
                &[
                    "audit",
                    "--state",
                    &state,
                    "--operator-vkey",
                    operator.to_str().unwrap(),
                ][..],
            ]
            .concat(),
        );
        assert_quiet(&output_with_closed_stdout(&mut audit), 0);
        assert!(std::path::Path::new(&state).is_file());
    }
    // A JSON error document on stdout: the error's status.
    let mut unreachable = Bin::Certlog.command();
    unreachable.args(["--json", "--server", "http://127.0.0.1:1", "checkpoint"]);
    assert_quiet(&output_with_closed_stdout(&mut unreachable), 1);
}

#[test]
fn certlog_verify_stops_quietly_when_stdout_is_closed() {
    let log = Log::start();
    let checkpoint = log.work_path("checkpoint");
    std::fs::write(&checkpoint, log.checkpoint().to_text()).unwrap();
    for json in [&[][..], &["--json"][..]] {
        let mut verify = Bin::CertlogVerify.command();
        verify.args(json).args([
            "checkpoint",
            &checkpoint,
            "--log-vkey",
            &log.log_vkey_file(),
        ]);
        assert_quiet(&output_with_closed_stdout(&mut verify), 0);
    }
}

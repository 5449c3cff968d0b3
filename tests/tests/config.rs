//! `certlogd serve --config FILE`: settings from a TOML file, flags on the command line first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::{Bin, Log};

#[test]
fn settings_come_from_the_config_file_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certlogd.toml");
    // The harness gives --listen 127.0.0.1:0 on the command line: it wins over the file's.
    std::fs::write(
        &config,
        "origin = \"config.example/log\"\nlisten = \"127.0.0.1:1\"\nbatch_max = 8\nlog_json = true\n",
    )
    .unwrap();
    let log = Log::start_with(&["--config", config.to_str().unwrap()]);
    assert_eq!(log.checkpoint().checkpoint.origin, "config.example/log");
    assert!(
        log.stderr().contains("{\""),
        "--log-json from the file: {}",
        log.stderr()
    );
}

#[test]
fn a_bad_config_file_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certlogd.toml");
    std::fs::write(&config, "witness_quorum = \"two\"\n").unwrap();
    let output = Bin::Certlogd
        .command()
        .args(["serve", "--data"])
        .arg(dir.path().join("data"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("witness-quorum") && stderr.contains("two"),
        "{stderr}"
    );

    std::fs::write(&config, "listen = ").unwrap();
    let output = Bin::Certlogd
        .command()
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not valid TOML"));
}

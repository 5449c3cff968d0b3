//! examples/c/verify.c, compiled with cc against this crate's static library, gives every case
//! of the shared bundle vectors (verifier/tests/vectors/bundles/manifest.json) the manifest's
//! answer, with the exit status of `certlog-verify bundle`.
//!
//! The static library is the one cargo builds for this test's profile along with the rlib the
//! test links, in `target/<profile>/deps/` (see [`static_library`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::Value;

/// The static library cargo built with the rlib this test links: in the test executable's
/// folder (`target/<profile>/deps/`), named `libcertlog_verifier_c-<hash>.a` like that rlib.
/// Cargo copies it to `target/<profile>/` only in `cargo build`, so the copy there may be old;
/// of the ones in `deps/` (one per set of features built), the newest, which must be newer
/// than the sources.
fn static_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let modified = |path: &Path| path.metadata().unwrap().modified().unwrap();
    let library = std::fs::read_dir(deps)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("libcertlog_verifier_c-") && name.ends_with(".a")
        })
        .max_by_key(|path| modified(path))
        .unwrap_or_else(|| panic!("no libcertlog_verifier_c-*.a in {}", deps.display()));
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for source in std::fs::read_dir(sources).unwrap() {
        let source = source.unwrap().path();
        assert!(
            modified(&library) >= modified(&source),
            "{} is older than {}",
            library.display(),
            source.display()
        );
    }
    library
}

/// examples/c/verify.c compiled and linked, once for the tests of this file.
fn compile() -> PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(compile_once).clone()
}

fn compile_once() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("certlog-verify-c");
    let status = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(root.join("device/c"))
        .arg(root.join("examples/c/verify.c"))
        .arg(static_library())
        // What Rust's standard library needs from the C library on Linux.
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("running cc (apt-get install gcc): {e}"));
    assert!(status.success(), "cc failed");
    out
}

/// The example's command line for a case of the manifest.
fn arguments(manifest: &Value, case: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let mut args = vec![
        common::vectors_dir()
            .join(text(&case["file"]))
            .display()
            .to_string(),
    ];
    let mut option = |name: &str, value: String| args.extend([name.to_owned(), value]);
    option("--log-vkey", text(&manifest["log_vkey"]));
    for witness in manifest["witness_vkeys"].as_array().unwrap() {
        option("--witness", text(witness));
    }
    option("--quorum", case["quorum"].to_string());
    option("--scheme", text(&case["scheme"]));
    option("--id", text(&case["certificate_id"]));
    if let Some(certifier) = case["certifier"].as_str() {
        option("--certifier", certifier.to_owned());
    }
    if let Some(digest) = case["firmware_sha256"].as_str() {
        option("--firmware-sha256", digest.to_owned());
    }
    option("--now", case["now"].to_string());
    if let Some(max_age) = case["max_age"].as_u64() {
        option("--max-age", max_age.to_string());
    }
    if let Some(trusted) = case["trusted"].as_object() {
        let root = base64::engine::general_purpose::STANDARD
            .decode(trusted["root"].as_str().unwrap())
            .unwrap();
        option("--trusted-size", trusted["size"].to_string());
        option("--trusted-root", hex::encode(root));
    }
    args
}

#[test]
fn the_c_example_answers_every_vector() {
    let program = compile();
    let manifest = common::manifest();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "the manifest has {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in cases {
        let output = Command::new(&program)
            .args(arguments(&manifest, case))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let expect = case["expect"].as_str().unwrap();
        let (code, first_line) = match expect {
            "invalid" => (1, "does not verify: ".to_owned()),
            "active" => (0, "standing: active".to_owned()),
            standing => (3, format!("standing: {standing}")),
        };
        let line = stdout.lines().next().unwrap_or_default();
        let right = output.status.code() == Some(code)
            && if code == 1 {
                line.starts_with(&first_line)
            } else {
                line == first_line
            };
        if !right {
            wrong.push(format!(
                "{}: expected {expect:?} (exit {code}), got exit {:?}: {stdout}{}",
                case["name"],
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_c_example_keeps_the_trusted_state_and_refuses_bad_usage() {
    let program = compile();
    let manifest = common::manifest();
    let case = common::case("active");
    let output = Command::new(&program)
        .args(arguments(&manifest, &case))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let trusted = stdout.lines().nth(1).unwrap();
    assert!(trusted.starts_with("trusted: size "), "{trusted}");
    // No --id: a usage error, like certlog-verify's.
    let mut args = arguments(&manifest, &case);
    let id = args.iter().position(|a| a == "--id").unwrap();
    args.drain(id..id + 2);
    let output = Command::new(&program).args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    // A bad key: bad input, exit 2.
    let mut args = arguments(&manifest, &case);
    let key = args.iter().position(|a| a == "--log-vkey").unwrap();
    args[key + 1] = "not a key".into();
    let output = Command::new(&program).args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad input: log_vkey"));
}

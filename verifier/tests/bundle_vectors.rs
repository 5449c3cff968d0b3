//! The shared proof-bundle vectors (`tests/vectors/bundles/`, made by
//! `log/tests/bundle_vectors.rs`): the native verifier gives every case the answer its manifest
//! says, as the C API, the WebAssembly build and the Cortex-M firmware must too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use certlog_verifier::VerifierKey;
use certlog_verifier::bundle::{Expected, Options, Policy, TrustedTree, verify_bundle};
use certlog_verifier::merkle::Hash;
use serde_json::Value;

fn dir() -> PathBuf {
    common::vectors_dir().join("bundles")
}

/// The answer the native verifier gives a case of the manifest.
fn answer(manifest: &Value, case: &Value) -> String {
    let vkey = |v: &Value| v.as_str().unwrap().parse::<VerifierKey>().unwrap();
    let log_key = vkey(&manifest["log_vkey"]);
    let witnesses: Vec<VerifierKey> = manifest["witness_vkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(vkey)
        .collect();
    let policy = Policy {
        log_key: &log_key,
        witnesses: &witnesses,
        quorum: case["quorum"].as_u64().unwrap() as usize,
    };
    let expected = Expected {
        scheme: case["scheme"].as_str().unwrap(),
        certificate_id: case["certificate_id"].as_str().unwrap(),
        certifier: case["certifier"].as_str(),
    };
    let trusted = case["trusted"].as_object().map(|t| TrustedTree {
        size: t["size"].as_u64().unwrap(),
        root: Hash::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(t["root"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap(),
    });
    let options = Options {
        now: case["now"].as_i64().unwrap(),
        max_age: case["max_age"].as_u64(),
        firmware_sha256: case["firmware_sha256"]
            .as_str()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap()),
        trusted,
    };
    let bytes = fs::read(dir().join(case["file"].as_str().unwrap())).unwrap();
    match verify_bundle(&bytes, &policy, &expected, &options) {
        Ok(verified) => verified.standing.name().to_string(),
        Err(e) => {
            eprintln!("{}: {e}", case["name"]);
            "invalid".to_string()
        }
    }
}

#[test]
fn the_native_verifier_gives_every_answer() {
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for case in cases {
        assert_eq!(
            answer(&manifest, case),
            case["expect"].as_str().unwrap(),
            "case {}",
            case["name"]
        );
    }
}

//! The JSON layer on the host gives every case of the shared bundle vectors
//! (verifier/tests/vectors/bundles/manifest.json) the manifest's answer, as the .wasm must under
//! node (test/verify.test.mjs): a case's fields are a request's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../verifier/tests/vectors/bundles")
}

#[test]
fn every_case_gets_the_manifests_answer() {
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for case in cases {
        let request = json!({
            "log_vkey": manifest["log_vkey"],
            "witness_vkeys": manifest["witness_vkeys"],
            "quorum": case["quorum"],
            "scheme": case["scheme"],
            "certificate_id": case["certificate_id"],
            "certifier": case["certifier"],
            "firmware_sha256": case["firmware_sha256"],
            "now": case["now"],
            "max_age": case["max_age"],
            "trusted": case["trusted"],
        });
        let bundle = fs::read(dir().join(case["file"].as_str().unwrap())).unwrap();
        let answer = certlog_verifier_wasm::verify(&bundle, &serde_json::to_vec(&request).unwrap());
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let got = match (&answer["ok"], &answer["kind"]) {
            (Value::Bool(true), _) => answer["standing"].clone(),
            (_, kind) if kind == "bundle" => json!("invalid"),
            _ => panic!("case {}: the request is refused: {answer}", case["name"]),
        };
        assert_eq!(got, case["expect"], "case {}: {answer}", case["name"]);
    }
}

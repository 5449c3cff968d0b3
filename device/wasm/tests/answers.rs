//! The JSON answers of `certlog_verifier_wasm::verify` on the fuzz corpus's bundles (their log
//! is described in verifier/fuzz/src/lib.rs): what each proves, and the failures' kinds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_verifier::{KeyType, SigningKey};
use serde_json::{Value, json};

const SUSPENDED: &[u8] = include_bytes!("../../../verifier/fuzz/corpus/bundle/seed-suspended");
const ABSENT: &[u8] = include_bytes!("../../../verifier/fuzz/corpus/bundle/seed-absent");
const COMPROMISED: &[u8] = include_bytes!("../../../verifier/fuzz/corpus/bundle/seed-compromised");

fn vkey(name: &str, key_type: KeyType, seed: u8) -> String {
    SigningKey::from_seed(name, key_type, &[seed; 32])
        .unwrap()
        .verifier_key()
        .to_string()
}

/// The fuzz fixtures' policy and clock, asking about `id`.
fn request(id: &str) -> Value {
    json!({
        "log_vkey": vkey("fuzz.example/log", KeyType::Ed25519, 1),
        "witness_vkeys": [
            vkey("w1.fuzz.example", KeyType::CosignatureV1, 4),
            vkey("w2.fuzz.example", KeyType::CosignatureV1, 5),
        ],
        "quorum": 2,
        "scheme": "EUCC",
        "certificate_id": id,
        "firmware_sha256": "5a".repeat(32),
        "now": 1_800_000_000,
        "max_age": 3600,
    })
}

fn verify(bundle: &[u8], request: &Value) -> Value {
    let answer = certlog_verifier_wasm::verify(bundle, &serde_json::to_vec(request).unwrap());
    serde_json::from_slice(&answer).unwrap()
}

#[test]
fn a_suspended_certificate_and_its_history() {
    let answer = verify(SUSPENDED, &request("FUZZ-1"));
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["standing"], "suspended");
    assert_eq!(answer["certificate"]["product"]["name"], "Fuzz Cam");
    assert_eq!(answer["status"]["status"], "suspended");
    let history = answer["status"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["index"], 4);
    assert_eq!(history[0]["status"], "suspended");
    assert_eq!(history[0]["by"], "certifier");
    assert_eq!(answer["certifier"]["name"], "cb.fuzz.example");
    assert_eq!(answer["certifier"]["retired"], false);
    assert_eq!(
        answer["checkpoint"]["cosignatures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The tree it gives is the one to trust next: the same bundle verifies against it.
    let mut next = request("FUZZ-1");
    next["trusted"] = answer["tree"].clone();
    assert_eq!(verify(SUSPENDED, &next)["standing"], "suspended");
}

#[test]
fn an_absent_certificate_has_no_record() {
    let mut request = request("FUZZ-404");
    request["firmware_sha256"] = Value::Null;
    let answer = verify(ABSENT, &request);
    assert_eq!(answer["standing"], "absent", "{answer}");
    assert_eq!(answer["certificate"], Value::Null);
    assert_eq!(answer["status"], Value::Null);
    assert_eq!(answer["certifier"], Value::Null);
}

#[test]
fn a_compromised_certifier_and_its_keys() {
    let mut request = request("FUZZ-2");
    request["certifier"] = json!("cb.fuzz.example");
    let answer = verify(COMPROMISED, &request);
    assert_eq!(
        answer["standing"], "revoked: certifier compromised",
        "{answer}"
    );
    assert_eq!(answer["status"]["status"], "active");
    let certifier = &answer["certifier"];
    assert_eq!(certifier["retired"], true);
    assert_eq!(certifier["retired_index"], 8);
    assert_eq!(certifier["compromised_index"], 6);
    assert_eq!(certifier["key_index"], 6);
    assert_eq!(certifier["earlier_keys"][0]["until_index"], 6);
}

#[test]
fn a_bundle_that_does_not_verify_is_a_bundle_failure() {
    let wrong_id = verify(SUSPENDED, &request("FUZZ-2"));
    assert_eq!(wrong_id["ok"], false);
    assert_eq!(wrong_id["kind"], "bundle");
    assert!(
        wrong_id["error"]
            .as_str()
            .unwrap()
            .contains("not for the expected")
    );

    let mut changed = SUSPENDED.to_vec();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    let answer = verify(&changed, &request("FUZZ-1"));
    assert_eq!(
        (&answer["ok"], &answer["kind"]),
        (&json!(false), &json!("bundle"))
    );
}

#[test]
fn a_wrong_request_is_a_request_failure() {
    let mut misspelt = request("FUZZ-1");
    misspelt["maxage"] = json!(60);
    let mut bad_key = request("FUZZ-1");
    bad_key["log_vkey"] = json!("not a key");
    let mut bad_root = request("FUZZ-1");
    bad_root["trusted"] = json!({ "size": 3, "root": "AAAA" });
    let mut bad_digest = request("FUZZ-1");
    bad_digest["firmware_sha256"] = json!("5a");
    for request in [misspelt, bad_key, bad_root, bad_digest] {
        let answer = verify(SUSPENDED, &request);
        assert_eq!(answer["kind"], "request", "{answer}");
    }
    let answer: Value =
        serde_json::from_slice(&certlog_verifier_wasm::verify(SUSPENDED, b"{")).unwrap();
    assert_eq!(answer["kind"], "request", "{answer}");
}

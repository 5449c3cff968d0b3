//! Proof bundles, checked with the fixtures' policy: first as they come, then with their
//! checkpoint re-signed by the log, to fuzz what comes after the signature check.

#![no_main]

use certlog_verifier::bundle::{Expected, Options, Policy, verify_bundle};
use certlog_verifier::proto::ProofBundle;
use certlog_verifier::{Checkpoint, Note};
use certlog_verifier_fuzz::{CERTIFICATE_ID, FIRMWARE, LOG, NOW, SCHEME, keys, trusted};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fn check(bytes: &[u8]) {
    let k = keys();
    let plain = Policy {
        log_key: &k.log_vkey,
        witnesses: &[],
        quorum: 0,
    };
    let witnessed = Policy {
        witnesses: &k.witness_vkeys,
        quorum: 1,
        ..plain
    };
    let device = Options {
        now: NOW,
        max_age: Some(3600),
        firmware_sha256: Some(FIRMWARE),
        trusted: Some(trusted()),
    };
    // The fixtures' certificate, and whatever the bundle says it is for (to get past that check).
    let claimed = ProofBundle::decode(bytes).unwrap_or_default();
    for expected in [
        Expected::new(SCHEME, CERTIFICATE_ID),
        Expected::new(&claimed.scheme, &claimed.certificate_id),
    ] {
        let _ = verify_bundle(bytes, &plain, &expected, &Options::default());
        let _ = verify_bundle(bytes, &witnessed, &expected, &device);
    }
}

/// The bundle with its checkpoint note signed by the log, when it holds one of the log.
fn resigned(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut bundle = ProofBundle::decode(bytes).ok()?;
    let mut note = Note::parse(bundle.checkpoint.as_bytes()).ok()?;
    if Checkpoint::parse(note.text()).ok()?.origin != LOG {
        return None;
    }
    note.add_signature(keys().log.sign_note(note.text()).ok()?);
    bundle.checkpoint = note.to_text();
    Some(bundle.encode_to_vec())
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(bytes) = resigned(data) {
        check(&bytes);
    }
});

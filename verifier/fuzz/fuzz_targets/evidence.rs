//! Evidence files, checked with the fixtures' log key: first as they come, then with their
//! checkpoints re-signed by the log (and, for a rule violation without a proof, a checkpoint of
//! exactly its entries), to fuzz the proofs and the replay behind the signature checks.

#![no_main]

use certlog_log::evidence;
use certlog_verifier::merkle::{CompactRange, leaf_hash};
use certlog_verifier::proto::MisbehaviourEvidence;
use certlog_verifier::proto::misbehaviour_evidence::Kind;
use certlog_verifier::{Checkpoint, Note};
use certlog_verifier_fuzz::{LOG, keys};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fn check(bytes: &[u8]) {
    let k = keys();
    let _ = evidence::check(bytes, &k.log_vkey, None);
    let _ = evidence::check(bytes, &k.log_vkey, Some(&k.operator_vkey));
}

/// A checkpoint note signed by the log, if `text` holds a checkpoint of the log.
fn resign(text: &str) -> Option<String> {
    let mut note = Note::parse(text.as_bytes()).ok()?;
    if Checkpoint::parse(note.text()).ok()?.origin != LOG {
        return None;
    }
    note.add_signature(keys().log.sign_note(note.text()).ok()?);
    Some(note.to_text())
}

fn resigned(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut evidence = MisbehaviourEvidence::decode(bytes).ok()?;
    match &mut evidence.kind {
        Some(Kind::Fork(fork)) => {
            if let Some(other) = resign(&fork.other_checkpoint) {
                fork.other_checkpoint = other;
            }
        }
        Some(Kind::RuleViolation(violation)) if violation.proof.is_empty() => {
            let mut range = CompactRange::new();
            for entry in &violation.entries {
                range.append(leaf_hash(entry), |_, _| {});
            }
            let signed = Checkpoint::new(LOG, range.size(), range.root())
                .sign(&keys().log)
                .ok()?;
            evidence.checkpoint = signed.to_text();
            return Some(evidence.encode_to_vec());
        }
        _ => {}
    }
    evidence.checkpoint = resign(&evidence.checkpoint)?;
    Some(evidence.encode_to_vec())
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(bytes) = resigned(data) {
        check(&bytes);
    }
});

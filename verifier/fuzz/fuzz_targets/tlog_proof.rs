//! tlog-proof text: parsing, formatting back, then the inclusion proof against its checkpoint
//! (re-signed by the log when it is one of the log's).

#![no_main]

use certlog_log::tlog_proof::TlogProof;
use certlog_verifier::merkle::{leaf_hash, root_from_inclusion_proof};
use certlog_verifier::{Checkpoint, Note, SignedCheckpoint};
use certlog_verifier_fuzz::{LOG, keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(proof) = TlogProof::parse(text) else {
        return;
    };
    assert_eq!(proof.to_text(), text);
    let k = keys();
    let _ = SignedCheckpoint::verify(proof.checkpoint.as_bytes(), &k.log_vkey);

    let Ok(mut note) = Note::parse(proof.checkpoint.as_bytes()) else {
        return;
    };
    let Ok(checkpoint) = Checkpoint::parse(note.text()) else {
        return;
    };
    if checkpoint.origin != LOG {
        return;
    }
    let Ok(signature) = k.log.sign_note(note.text()) else {
        return;
    };
    note.add_signature(signature);
    let signed = SignedCheckpoint::verify(note.to_text().as_bytes(), &k.log_vkey)
        .expect("a checkpoint note signed by the log opens");
    let _ = root_from_inclusion_proof(
        &leaf_hash(b"entry"),
        proof.index,
        signed.checkpoint.size,
        &proof.proof,
    );
});

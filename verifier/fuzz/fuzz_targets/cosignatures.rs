//! A witness's answers: cosignature lines (200) and its tree size (409). Lines that parse
//! format back to the same text, and are checked as cosignatures of a checkpoint of the log.

#![no_main]

use std::sync::OnceLock;

use certlog_log::witness::{
    format_cosignatures, format_size_body, parse_cosignatures, parse_size_body,
};
use certlog_verifier::merkle::EMPTY_ROOT;
use certlog_verifier::note::NoteSignature;
use certlog_verifier::{Checkpoint, SignedCheckpoint, cosignature};
use certlog_verifier_fuzz::{LOG, keys};
use libfuzzer_sys::fuzz_target;

/// A checkpoint of the log, signed, to add the cosignatures to.
fn checkpoint() -> &'static SignedCheckpoint {
    static CHECKPOINT: OnceLock<SignedCheckpoint> = OnceLock::new();
    CHECKPOINT.get_or_init(|| {
        Checkpoint::new(LOG, 0, EMPTY_ROOT)
            .sign(&keys().log)
            .expect("the log's key signs its checkpoints")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(size) = parse_size_body(body) {
        assert_eq!(format_size_body(size), body);
    }
    if let Some(line) = body.strip_suffix('\n')
        && let Ok(sig) = NoteSignature::parse_line(line)
    {
        assert_eq!(sig.to_line(), body);
    }
    let Ok(sigs) = parse_cosignatures(body) else {
        return;
    };
    assert_eq!(format_cosignatures(&sigs), body);
    let mut signed = checkpoint().clone();
    for sig in sigs {
        let _ = cosignature::timestamp(&sig.signature);
        signed.note.add_signature(sig);
    }
    let _ = signed.verify_cosignatures(&keys().witness_vkeys, 1);
});

//! Signed notes: parsing, formatting back, and verification with known keys.

#![no_main]

use certlog_verifier::Note;
use certlog_verifier_fuzz::keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(note) = Note::parse(data) else {
        return;
    };
    // One note, one encoding: what parses formats back to the same bytes.
    assert_eq!(note.to_text().as_bytes(), data);
    let k = keys();
    let _ = note.verify(&[&k.log_vkey]);
    let witnesses: Vec<_> = k.witness_vkeys.iter().collect();
    let _ = note.verify_known(&witnesses);
});

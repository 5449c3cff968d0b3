//! Witness add-checkpoint requests: parsing, formatting back, and the witness's checks against
//! the fixtures' log key, first as they come, then with the checkpoint re-signed by the log to
//! reach the size and consistency checks.

#![no_main]

use certlog_log::witness::{self, AddCheckpoint, Witnessed};
use certlog_verifier::merkle::Hash;
use certlog_verifier::{Checkpoint, Note};
use certlog_verifier_fuzz::{LOG, keys};
use libfuzzer_sys::fuzz_target;

fn check(request: &AddCheckpoint) {
    let k = keys();
    let _ = witness::origin(&request.checkpoint);
    let _ = witness::check(request, None, None);
    let _ = witness::check(request, Some(&k.log_vkey), None);
    // The witness holds a tree of the request's old size (any root), and one of size 3.
    for size in [request.old_size, 3] {
        let latest = Witnessed {
            size,
            root: Hash([7; 32]),
        };
        let _ = witness::check(request, Some(&k.log_vkey), Some(&latest));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut request) = AddCheckpoint::parse(data) else {
        return;
    };
    assert_eq!(request.to_bytes(), data);
    check(&request);

    let Ok(mut note) = Note::parse(&request.checkpoint) else {
        return;
    };
    match Checkpoint::parse(note.text()) {
        Ok(checkpoint) if checkpoint.origin == LOG => {}
        _ => return,
    }
    let Ok(signature) = keys().log.sign_note(note.text()) else {
        return;
    };
    note.add_signature(signature);
    request.checkpoint = note.to_text().into_bytes();
    check(&request);
});

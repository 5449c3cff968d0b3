//! Checkpoints: the note text alone, and signed checkpoints opened with the log's key. A note
//! whose text is a checkpoint of the log is then re-signed with the log's key, to fuzz what comes
//! after the signature check (witness cosignatures).

#![no_main]

use certlog_verifier::{Checkpoint, Note, SignedCheckpoint};
use certlog_verifier_fuzz::{LOG, keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(checkpoint) = Checkpoint::parse(text)
    {
        assert_eq!(checkpoint.to_text(), text);
    }
    let k = keys();
    let _ = SignedCheckpoint::verify(data, &k.log_vkey);

    let Ok(mut note) = Note::parse(data) else {
        return;
    };
    match Checkpoint::parse(note.text()) {
        Ok(checkpoint) if checkpoint.origin == LOG => {}
        _ => return,
    }
    let Ok(signature) = k.log.sign_note(note.text()) else {
        return;
    };
    note.add_signature(signature);
    let signed = SignedCheckpoint::verify(note.to_text().as_bytes(), &k.log_vkey)
        .expect("a checkpoint note signed by the log opens");
    let _ = signed.verify_cosignatures(&k.witness_vkeys, 0);
    let _ = signed.verify_cosignatures(&k.witness_vkeys, 2);
});

//! Log entries: decoding (canonical protobuf only), and the log's rules against the state of the
//! fixtures' log, both with the signature checked and, to reach the rules behind it, applied as
//! if it verified.

#![no_main]

use certlog_log::rules::{apply, check_entry, signing_key};
use certlog_verifier::entry::{decode_entry, decode_statement, signed_statement};
use certlog_verifier::merkle::leaf_hash;
use certlog_verifier_fuzz::{keys, log};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let state = &log().state;
    let next = log().entries.len() as u64;
    let _ = check_entry(data, next, &k.operator_vkey, state);

    let Ok(entry) = decode_entry(data) else {
        return;
    };
    // Canonical: the entry is the encoding of what it decodes to.
    assert_eq!(entry.encode_to_vec(), data);
    let Some(signed) = signed_statement(&entry) else {
        return;
    };
    let Ok(statement) = decode_statement(signed) else {
        return;
    };
    let _ = signing_key(signed, &statement, &k.operator_vkey, state);
    let leaf = leaf_hash(data);
    for index in [0, 3, next, u64::MAX] {
        let _ = apply(signed, &statement, index, &leaf, state);
    }
});

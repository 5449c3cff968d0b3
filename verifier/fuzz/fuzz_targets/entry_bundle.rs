//! Entry bundles: what parses is the encoding of the entries it holds.

#![no_main]

use certlog_log::entry_bundle::{encode_entry_bundle, parse_entry_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = parse_entry_bundle(data) else {
        return;
    };
    let encoded = encode_entry_bundle(entries).expect("parsed entries encode");
    assert_eq!(encoded, data);
});

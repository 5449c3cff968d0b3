//! Certificates in JSON, as people write them: parsing into the Certificate message, the
//! checks of its fields, and formatting back.

#![no_main]

use certlog_verifier::certificate::validate;
use certlog_verifier::proto::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(certificate) = serde_json::from_slice::<Certificate>(data) else {
        return;
    };
    let _ = validate(&certificate);
    // What was read writes back to JSON that reads as the same certificate.
    let json = serde_json::to_string(&certificate).expect("a certificate serialises");
    let again: Certificate = serde_json::from_str(&json).expect("written JSON reads back");
    assert_eq!(again, certificate);
});

//! Certificates in JSON, as people write them: parsing into the Certificate message, the
//! checks of its fields, and formatting back. Certificates from the log (protobuf, signed by a
//! certifier, so any field values) are written as JSON too, as the command lines show them.

#![no_main]

use certlog_verifier::certificate::validate;
use certlog_verifier::proto::Certificate;
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(certificate) = serde_json::from_slice::<Certificate>(data) {
        let _ = validate(&certificate);
        // What was read writes back to JSON that reads as the same certificate.
        let json = serde_json::to_string(&certificate).expect("a certificate serialises");
        let again: Certificate = serde_json::from_str(&json).expect("written JSON reads back");
        assert_eq!(again, certificate);
    }
    if let Ok(certificate) = Certificate::decode(data) {
        let _ = validate(&certificate);
        let _ = serde_json::to_string(&certificate);
    }
});

//! Verifier keys and private keys in their text forms: what parses formats back to a key that
//! parses to the same key.

#![no_main]

use certlog_verifier::{SigningKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(vkey) = text.parse::<VerifierKey>() {
        assert_eq!(vkey.to_string().parse::<VerifierKey>().as_ref(), Ok(&vkey));
        // The same text, but for the case of the key ID's hex digits.
        let mut fields = text.trim().splitn(3, '+');
        let (name, id, material) = (fields.next(), fields.next(), fields.next());
        let lowercase = format!(
            "{}+{}+{}",
            name.unwrap_or_default(),
            id.unwrap_or_default().to_ascii_lowercase(),
            material.unwrap_or_default()
        );
        assert_eq!(vkey.to_string(), lowercase);
    }
    if let Ok(key) = SigningKey::from_private_string(text) {
        let again = SigningKey::from_private_string(&key.to_private_string())
            .expect("a written private key reads back");
        assert_eq!(again.verifier_key(), key.verifier_key());
    }
});

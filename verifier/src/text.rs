//! The characters certlog's strings may hold (docs/trust.md "Identifiers and text"), so that
//! no two identifiers that differ look alike and no text hides or reorders what it shows.
//!
//! - Identifiers (a scheme, a certificate ID, a certifier's name) are printable ASCII without
//!   space, U+0021 to U+007E, at most [`MAX_SCHEME_LEN`], [`MAX_CERTIFICATE_ID_LEN`] or
//!   [`MAX_CERTIFIER_NAME_LEN`] bytes, and compared byte for byte. A certifier's name is a C2SP
//!   signed-note key name, so it holds no `+` either.
//! - `ext` keys are lowercase ASCII letters, digits, `.`, `_` and `-`, at most
//!   [`MAX_EXT_KEY_LEN`] bytes.
//! - Every other string may hold any Unicode character except control characters (general
//!   category Cc), format characters (Cf: zero-width characters, bidi overrides, the BOM) and
//!   line and paragraph separators (Zl, Zp).
//!
//! Those categories are a short table here ([`REFUSED_IN_TEXT`]), not a Unicode database, which
//! would be most of a device's flash; a test checks it against the `unicode-properties`
//! crate's general categories on every code point.

/// The longest scheme name accepted, in bytes.
pub const MAX_SCHEME_LEN: usize = 64;
/// The longest certificate ID accepted, in bytes.
pub const MAX_CERTIFICATE_ID_LEN: usize = 256;
/// The longest certifier name (a signed-note key name) accepted, in bytes.
pub const MAX_CERTIFIER_NAME_LEN: usize = 128;
/// The longest `ext` key accepted, in bytes.
pub const MAX_EXT_KEY_LEN: usize = 64;

/// The characters beyond ASCII of general categories Cc, Cf, Zl and Zp (Unicode 18), in ranges.
pub const REFUSED_IN_TEXT: [(char, char); 22] = [
    ('\u{0080}', '\u{009F}'),
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{2028}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Why a string was refused: the field it came in, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// A required identifier is empty.
    #[error("missing required field {0}")]
    Empty(&'static str),
    /// An identifier is too long.
    #[error("field {field} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// The field, as named in the JSON form.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character the field may not hold.
    #[error("field {field} contains U+{:04X}, {}", u32::from(*character), allowed.describe())]
    Character {
        /// The field, as named in the JSON form.
        field: &'static str,
        /// The first character refused.
        character: char,
        /// What the field allows.
        allowed: Allowed,
    },
}

/// The character sets of certlog's strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allowed {
    /// Printable ASCII without space.
    Identifier,
    /// Printable ASCII without space and without `+`.
    CertifierName,
    /// Lowercase ASCII letters, digits, `.`, `_`, `-`.
    ExtKey,
    /// Any character but controls, format characters and line or paragraph separators.
    Text,
}

impl Allowed {
    /// Whether the set holds `c`.
    pub fn contains(self, c: char) -> bool {
        match self {
            Allowed::Identifier => c.is_ascii_graphic(),
            Allowed::CertifierName => c.is_ascii_graphic() && c != '+',
            Allowed::ExtKey => {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            }
            // ASCII's only refused characters are its controls; the table is for the rest.
            Allowed::Text if c.is_ascii() => !c.is_ascii_control(),
            Allowed::Text => !REFUSED_IN_TEXT
                .iter()
                .any(|(first, last)| (*first..=*last).contains(&c)),
        }
    }

    /// What the set allows, as an error message says it.
    pub fn describe(self) -> &'static str {
        match self {
            Allowed::Identifier => "but it may hold only printable ASCII without space",
            Allowed::CertifierName => {
                "but a certifier name may hold only printable ASCII without space and `+`"
            }
            Allowed::ExtKey => {
                "but an ext key may hold only lowercase ASCII letters, digits, `.`, `_` and `-`"
            }
            Allowed::Text => {
                "a control, format (invisible or bidi) or line separator character, which no text may hold"
            }
        }
    }
}

/// Checks that every character of `value` is in `allowed`.
pub fn check_characters(
    field: &'static str,
    value: &str,
    allowed: Allowed,
) -> Result<(), TextError> {
    match value.chars().find(|c| !allowed.contains(*c)) {
        Some(character) => Err(TextError::Character {
            field,
            character,
            allowed,
        }),
        None => Ok(()),
    }
}

/// Checks a required identifier: not empty, at most `max` bytes, all in `allowed`.
fn check_identifier(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: Allowed,
) -> Result<(), TextError> {
    if value.is_empty() {
        return Err(TextError::Empty(field));
    }
    if value.len() > max {
        return Err(TextError::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    check_characters(field, value, allowed)
}

/// Checks a scheme name, given in `field`.
pub fn check_scheme(field: &'static str, scheme: &str) -> Result<(), TextError> {
    check_identifier(field, scheme, MAX_SCHEME_LEN, Allowed::Identifier)
}

/// Checks a certificate ID, given in `field`.
pub fn check_certificate_id(field: &'static str, id: &str) -> Result<(), TextError> {
    check_identifier(field, id, MAX_CERTIFICATE_ID_LEN, Allowed::Identifier)
}

/// Checks a certifier's name (its signed-note key name), given in `field`.
pub fn check_certifier_name(field: &'static str, name: &str) -> Result<(), TextError> {
    check_identifier(field, name, MAX_CERTIFIER_NAME_LEN, Allowed::CertifierName)
}

/// Checks an `ext` key.
pub fn check_ext_key(key: &str) -> Result<(), TextError> {
    check_identifier("ext", key, MAX_EXT_KEY_LEN, Allowed::ExtKey)
}

/// Checks a free-text field (which may be empty).
pub fn check_text(field: &'static str, value: &str) -> Result<(), TextError> {
    check_characters(field, value, Allowed::Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_printable_ascii_without_space() {
        assert_eq!(
            check_certificate_id("certificate_id", "EUCC-3095-2026/11:0042~x"),
            Ok(())
        );
        for (id, character) in [
            ("EUCC-1\u{200B}", '\u{200B}'),
            ("EUCC 1", ' '),
            ("ЕUCC-1", 'Е'), // Cyrillic Ie
            ("EUCC-1\u{0}", '\u{0}'),
            ("é", 'é'),
        ] {
            assert_eq!(
                check_certificate_id("certificate_id", id),
                Err(TextError::Character {
                    field: "certificate_id",
                    character,
                    allowed: Allowed::Identifier
                })
            );
        }
        assert_eq!(check_scheme("scheme", ""), Err(TextError::Empty("scheme")));
        assert!(matches!(
            check_scheme("scheme", &"S".repeat(MAX_SCHEME_LEN + 1)),
            Err(TextError::TooLong {
                len: 65,
                max: 64,
                ..
            })
        ));
        assert_eq!(check_scheme("scheme", &"S".repeat(MAX_SCHEME_LEN)), Ok(()));
        assert_eq!(check_certifier_name("name", "cb.example/eucc"), Ok(()));
        assert!(check_certifier_name("name", "cb+x").is_err());
        assert_eq!(check_certificate_id("certificate_id", "a+b"), Ok(()));
    }

    #[test]
    fn text_refuses_what_hides_or_reorders() {
        assert_eq!(
            check_text("product.name", "Kamera für Büros 東京 ✓"),
            Ok(())
        );
        assert_eq!(check_text("product.name", ""), Ok(()));
        for c in [
            '\u{200B}', // zero width space
            '\u{200D}', // zero width joiner
            '\u{202E}', // right-to-left override
            '\u{2066}', // left-to-right isolate
            '\u{FEFF}', // byte order mark
            '\u{00AD}', // soft hyphen
            '\u{2028}', // line separator
            '\u{2029}', // paragraph separator
            '\n', '\u{7F}', '\u{85}',
        ] {
            let text = alloc::format!("a{c}b");
            assert_eq!(
                check_text("reason", &text),
                Err(TextError::Character {
                    field: "reason",
                    character: c,
                    allowed: Allowed::Text
                }),
                "{c:?}"
            );
        }
        let err = check_text("reason", "a\u{202E}b").unwrap_err();
        assert!(
            alloc::string::ToString::to_string(&err).starts_with("field reason contains U+202E, a")
        );
    }

    #[test]
    fn the_table_is_unicodes_cc_cf_zl_and_zp() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let refused = matches!(
                c.general_category(),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            );
            assert_eq!(
                Allowed::Text.contains(c),
                !refused,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn ext_keys() {
        assert_eq!(check_ext_key("sbom.uri_v-2"), Ok(()));
        for key in ["Sbom", "a=b", "a b", "ä"] {
            assert!(check_ext_key(key).is_err(), "{key}");
        }
        assert_eq!(check_ext_key(""), Err(TextError::Empty("ext")));
    }
}

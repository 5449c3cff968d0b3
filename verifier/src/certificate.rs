//! Certificates and their status (DESIGN "What is in the log"): the fields a certificate must
//! have, the allowed status transitions, the status-map key of a certificate, and (feature
//! `json`) the JSON form people write, with RFC 3339 times and hex digests.

use prost::Message as _;
use sha2::{Digest as _, Sha256};

use crate::merkle::Hash;
use crate::proto::{Certificate, CertificateStatus, CertifierRecord, StatusRecord};
use crate::text::{self, TextError, check_text};

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// A string holds what its field does not allow.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A required field is empty or absent.
    #[error("missing required field {0}")]
    MissingField(&'static str),
    /// A field has a value that cannot be right.
    #[error("field {field} is invalid: {reason}")]
    InvalidField {
        /// The field, as named in the JSON form.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The dates are not in order.
    #[error("{later} ({later_at}) must be after {earlier} ({earlier_at})")]
    DatesOutOfOrder {
        /// The earlier field.
        earlier: &'static str,
        /// Its value, seconds since the epoch.
        earlier_at: i64,
        /// The later field.
        later: &'static str,
        /// Its value.
        later_at: i64,
    },
}

/// Checks the required fields and dates of a certificate.
pub fn validate(c: &Certificate) -> Result<(), CertificateError> {
    text::check_scheme("scheme", &c.scheme)?;
    text::check_certificate_id("certificate_id", &c.certificate_id)?;
    check_strings(c)?;
    let product = c
        .product
        .as_ref()
        .ok_or(CertificateError::MissingField("product"))?;
    if product.vendor.is_empty() {
        return Err(CertificateError::MissingField("product.vendor"));
    }
    if product.name.is_empty() {
        return Err(CertificateError::MissingField("product.name"));
    }
    for d in &product.firmware_digests {
        if d.alg.is_empty() {
            return Err(CertificateError::MissingField(
                "product.firmware_digests.alg",
            ));
        }
        if d.alg == "sha256" && d.digest.len() != 32 {
            return Err(CertificateError::InvalidField {
                field: "product.firmware_digests.digest",
                reason: "a sha256 digest is 32 bytes (64 hex digits)",
            });
        }
    }
    for e in &c.evidence {
        if !e.sha256.is_empty() && e.sha256.len() != 32 {
            return Err(CertificateError::InvalidField {
                field: "evidence.sha256",
                reason: "a sha256 digest is 32 bytes (64 hex digits)",
            });
        }
    }
    if c.issued_at == 0 {
        return Err(CertificateError::MissingField("issued_at"));
    }
    if c.not_after == 0 {
        return Err(CertificateError::MissingField("not_after"));
    }
    let ordered = |earlier, earlier_at, later, later_at| {
        if later_at > earlier_at {
            Ok(())
        } else {
            Err(CertificateError::DatesOutOfOrder {
                earlier,
                earlier_at,
                later,
                later_at,
            })
        }
    };
    ordered("issued_at", c.issued_at, "not_after", c.not_after)?;
    if c.not_before != 0 {
        ordered("not_before", c.not_before, "not_after", c.not_after)?;
    }
    Ok(())
}

/// Checks the characters of every other string of a certificate (see [`crate::text`]).
fn check_strings(c: &Certificate) -> Result<(), TextError> {
    check_text("scheme_version", &c.scheme_version)?;
    check_text("certification_type", &c.certification_type)?;
    if let Some(a) = &c.assurance {
        check_text("assurance.level", &a.level)?;
        check_text("assurance.package", &a.package)?;
        check_text("assurance.ava_van", &a.ava_van)?;
    }
    for s in &c.standards {
        check_text("standards.id", &s.id)?;
        check_text("standards.version", &s.version)?;
    }
    for p in &c.protection_profiles {
        check_text("protection_profiles", p)?;
    }
    if let Some(p) = &c.product {
        check_text("product.vendor", &p.vendor)?;
        check_text("product.vendor_id", &p.vendor_id)?;
        check_text("product.name", &p.name)?;
        check_text("product.type", &p.r#type)?;
        check_text("product.model", &p.model)?;
        check_text("product.hardware_version", &p.hardware_version)?;
        check_text("product.firmware_version", &p.firmware_version)?;
        for d in &p.firmware_digests {
            check_text("product.firmware_digests.alg", &d.alg)?;
        }
    }
    if let Some(h) = &c.holder {
        check_text("holder.name", &h.name)?;
        check_text("holder.address", &h.address)?;
        check_text("holder.website", &h.website)?;
    }
    if let Some(b) = &c.certification_body {
        check_text("certification_body.name", &b.name)?;
        check_text("certification_body.id", &b.id)?;
    }
    check_text("test_lab", &c.test_lab)?;
    for e in &c.evidence {
        check_text("evidence.kind", &e.kind)?;
        check_text("evidence.uri", &e.uri)?;
    }
    if let Some(s) = &c.supersedes {
        text::check_certificate_id("supersedes.certificate_id", &s.certificate_id)?;
    }
    for (key, value) in &c.ext {
        text::check_ext_key(key)?;
        check_text("ext", value)?;
    }
    Ok(())
}

/// Whether a certificate may go from one status to another: active <-> suspended, and active
/// or suspended -> revoked or withdrawn, which are final.
pub fn transition_allowed(from: CertificateStatus, to: CertificateStatus) -> bool {
    use CertificateStatus::*;
    matches!(
        (from, to),
        (Active, Suspended) | (Suspended, Active) | (Active | Suspended, Revoked | Withdrawn)
    )
}

/// The lowercase name of a status, as the CLIs print it.
pub fn status_name(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Unspecified => "unspecified",
        CertificateStatus::Active => "active",
        CertificateStatus::Suspended => "suspended",
        CertificateStatus::Revoked => "revoked",
        CertificateStatus::Withdrawn => "withdrawn",
    }
}

/// The context string of status-map keys.
const STATUS_KEY_CONTEXT: &[u8] = b"certlog/v1/status-key\n";

/// The status-map key of a certificate: SHA-256 of a context string, the scheme, a newline and
/// the certificate ID (a scheme holds no control characters, so the split is unambiguous).
pub fn status_key(scheme: &str, certificate_id: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(STATUS_KEY_CONTEXT);
    h.update(scheme.as_bytes());
    h.update(b"\n");
    h.update(certificate_id.as_bytes());
    Hash(h.finalize().into())
}

/// The context string of the status-map keys of certifiers.
const CERTIFIER_KEY_CONTEXT: &[u8] = b"certlog/v1/certifier-key\n";

/// The status-map key of a certifier's record (docs/trust.md "The certifier's state"): SHA-256
/// of a context string and its name. The contexts keep it apart from every certificate's key.
pub fn certifier_key(name: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(CERTIFIER_KEY_CONTEXT);
    h.update(name.as_bytes());
    Hash(h.finalize().into())
}

/// The value a certifier's record has in the status map: SHA-256 of its protobuf encoding.
pub fn certifier_record_hash(record: &CertifierRecord) -> Hash {
    encoded_status_record_hash(&record.encode_to_vec())
}

/// The value a status record has in the status map: SHA-256 of its protobuf encoding.
pub fn status_record_hash(record: &StatusRecord) -> Hash {
    encoded_status_record_hash(&record.encode_to_vec())
}

/// [`status_record_hash`] (or [`certifier_record_hash`]) of a record already encoded (as a log
/// stores it).
pub fn encoded_status_record_hash(encoding: &[u8]) -> Hash {
    Hash(Sha256::digest(encoding).into())
}

/// The JSON form of certificates (serde helpers used by the generated messages).
#[cfg(feature = "json")]
pub mod json {
    use std::string::String;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// Seconds since the epoch, from RFC 3339 (`2026-11-02T09:00:00Z`).
    pub fn parse_time(text: &str) -> Result<i64, String> {
        let t = humantime::parse_rfc3339_weak(text)
            .map_err(|e| std::format!("{text:?} is not an RFC 3339 UTC time ({e})"))?;
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| std::format!("{text:?} is before 1970"))?
            .as_secs();
        i64::try_from(secs).map_err(|_| std::format!("{text:?} is too far in the future"))
    }

    /// RFC 3339 UTC, to the second, from seconds since the epoch; a time RFC 3339 cannot write
    /// (before 1970 or after 9999, as a signed entry may hold) as the number of seconds.
    pub fn format_time(secs: i64) -> String {
        use std::fmt::Write as _;
        let time = u64::try_from(secs)
            .ok()
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
        let mut text = String::new();
        match time {
            Some(t) if write!(text, "{}", humantime::format_rfc3339_seconds(t)).is_ok() => text,
            _ => std::format!("{secs}"),
        }
    }

    /// The current time in seconds since the epoch.
    pub fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Bytes from hex, as digests are written.
    pub fn parse_hex(text: &str) -> Result<std::vec::Vec<u8>, String> {
        hex::decode(text.trim()).map_err(|e| std::format!("{text:?} is not hex: {e}"))
    }

    /// Whether a time is absent.
    pub fn is_zero(t: &i64) -> bool {
        *t == 0
    }

    /// serde `with` for times.
    pub mod time {
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        /// Writes RFC 3339.
        pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&super::format_time(*t))
        }

        /// Reads RFC 3339.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
            let text = std::string::String::deserialize(d)?;
            super::parse_time(&text).map_err(D::Error::custom)
        }
    }

    /// serde `with` for digests in hex.
    pub mod hex_bytes {
        use serde::{Deserialize, Deserializer, Serializer, de::Error};
        use std::vec::Vec;

        /// Writes lowercase hex.
        pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&hex::encode(bytes))
        }

        /// Reads hex.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let text = std::string::String::deserialize(d)?;
            hex::decode(&text)
                .map_err(|e| D::Error::custom(std::format!("{text:?} is not hex: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Product;

    fn minimal() -> Certificate {
        Certificate {
            scheme: "EUCC".into(),
            certificate_id: "EUCC-1".into(),
            product: Some(Product {
                vendor: "V".into(),
                name: "N".into(),
                ..Default::default()
            }),
            issued_at: 1_700_000_000,
            not_after: 1_800_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn required_fields_and_dates() {
        assert_eq!(validate(&minimal()), Ok(()));
        let mut c = minimal();
        c.certificate_id.clear();
        assert_eq!(
            validate(&c),
            Err(CertificateError::Text(TextError::Empty("certificate_id")))
        );
        let mut c = minimal();
        c.product = None;
        assert_eq!(validate(&c), Err(CertificateError::MissingField("product")));
        let mut c = minimal();
        c.not_after = c.issued_at - 1;
        assert!(matches!(
            validate(&c),
            Err(CertificateError::DatesOutOfOrder { .. })
        ));
        let mut c = minimal();
        c.scheme = " EUCC".into();
        assert!(matches!(
            validate(&c),
            Err(CertificateError::Text(TextError::Character {
                field: "scheme",
                character: ' ',
                ..
            }))
        ));
        let mut c = minimal();
        c.certificate_id = "a\nb".into();
        assert!(matches!(
            validate(&c),
            Err(CertificateError::Text(TextError::Character { .. }))
        ));
        let mut c = minimal();
        c.ext.insert("sbom".into(), "x\u{202E}y".into());
        assert!(matches!(
            validate(&c),
            Err(CertificateError::Text(TextError::Character {
                field: "ext",
                character: '\u{202E}',
                ..
            }))
        ));
        let mut c = minimal();
        c.product.as_mut().unwrap().model = "M\u{200B}".into();
        assert!(matches!(
            validate(&c),
            Err(CertificateError::Text(TextError::Character {
                field: "product.model",
                ..
            }))
        ));
    }

    #[test]
    fn transitions() {
        use CertificateStatus::*;
        assert!(transition_allowed(Active, Suspended));
        assert!(transition_allowed(Suspended, Active));
        assert!(transition_allowed(Suspended, Revoked));
        assert!(transition_allowed(Active, Withdrawn));
        for to in [Active, Suspended, Revoked, Withdrawn, Unspecified] {
            assert!(!transition_allowed(Revoked, to));
            assert!(!transition_allowed(Withdrawn, to));
        }
        assert!(!transition_allowed(Active, Active));
        assert!(!transition_allowed(Active, Unspecified));
    }

    #[test]
    fn status_keys_separate_scheme_and_id() {
        assert_ne!(status_key("EUCC", "1"), status_key("EUCC1", ""));
        assert_eq!(status_key("EUCC", "1"), status_key("EUCC", "1"));
    }
}

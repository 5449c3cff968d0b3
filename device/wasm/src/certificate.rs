//! A certificate as JSON (proto/certlog/v1/log.proto `Certificate`), with the names of its
//! protobuf fields. Times are seconds since the Unix epoch (0 when absent), digests hex;
//! absent messages are null.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use certlog_verifier::proto::{Certificate, Digest, Evidence, Standard};
use serde::Serialize;

/// A certificate.
#[derive(Debug, Serialize)]
pub struct CertificateJson<'a> {
    /// Its scheme.
    pub scheme: &'a str,
    /// The scheme's version.
    pub scheme_version: &'a str,
    /// Its ID within the scheme.
    pub certificate_id: &'a str,
    /// Its type of certification.
    pub certification_type: &'a str,
    /// Its assurance level.
    pub assurance: Option<AssuranceJson<'a>>,
    /// The standards it certifies against.
    pub standards: Vec<StandardJson<'a>>,
    /// The protection profiles.
    pub protection_profiles: &'a [String],
    /// The product.
    pub product: Option<ProductJson<'a>>,
    /// The certificate's holder.
    pub holder: Option<HolderJson<'a>>,
    /// The certification body.
    pub certification_body: Option<BodyJson<'a>>,
    /// The test lab.
    pub test_lab: &'a str,
    /// Documents behind it.
    pub evidence: Vec<EvidenceJson<'a>>,
    /// When it was issued.
    pub issued_at: i64,
    /// When it becomes valid.
    pub not_before: i64,
    /// When it expires.
    pub not_after: i64,
    /// The end of the product's support period.
    pub support_period_end: i64,
    /// The certificate it replaces.
    pub supersedes: Option<SupersedesJson<'a>>,
    /// Extensions.
    pub ext: &'a BTreeMap<String, String>,
}

/// An assurance level.
#[derive(Debug, Serialize)]
pub struct AssuranceJson<'a> {
    /// The level.
    pub level: &'a str,
    /// The assurance package.
    pub package: &'a str,
    /// The AVA_VAN component.
    pub ava_van: &'a str,
}

/// A standard.
#[derive(Debug, Serialize)]
pub struct StandardJson<'a> {
    /// Its identifier.
    pub id: &'a str,
    /// Its version.
    pub version: &'a str,
}

/// A product.
#[derive(Debug, Serialize)]
pub struct ProductJson<'a> {
    /// Its vendor.
    pub vendor: &'a str,
    /// The vendor's identifier.
    pub vendor_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Its model.
    pub model: &'a str,
    /// Its hardware version.
    pub hardware_version: &'a str,
    /// Its firmware version.
    pub firmware_version: &'a str,
    /// The digests of its certified firmware.
    pub firmware_digests: Vec<DigestJson<'a>>,
}

/// A digest.
#[derive(Debug, Serialize)]
pub struct DigestJson<'a> {
    /// Its algorithm.
    pub alg: &'a str,
    /// The digest, in hex.
    pub digest: String,
}

/// A holder.
#[derive(Debug, Serialize)]
pub struct HolderJson<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its address.
    pub address: &'a str,
    /// Its website.
    pub website: &'a str,
}

/// A certification body.
#[derive(Debug, Serialize)]
pub struct BodyJson<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its identifier.
    pub id: &'a str,
}

/// A document behind the certificate.
#[derive(Debug, Serialize)]
pub struct EvidenceJson<'a> {
    /// What it is.
    pub kind: &'a str,
    /// Where it is.
    pub uri: &'a str,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// The certificate a certificate replaces.
#[derive(Debug, Serialize)]
pub struct SupersedesJson<'a> {
    /// Its ID.
    pub certificate_id: &'a str,
    /// Its entry's index.
    pub log_index: u64,
}

impl<'a> CertificateJson<'a> {
    /// The JSON of a certificate.
    pub fn new(c: &'a Certificate) -> CertificateJson<'a> {
        CertificateJson {
            scheme: &c.scheme,
            scheme_version: &c.scheme_version,
            certificate_id: &c.certificate_id,
            certification_type: &c.certification_type,
            assurance: c.assurance.as_ref().map(|a| AssuranceJson {
                level: &a.level,
                package: &a.package,
                ava_van: &a.ava_van,
            }),
            standards: c.standards.iter().map(StandardJson::new).collect(),
            protection_profiles: &c.protection_profiles,
            product: c.product.as_ref().map(|p| ProductJson {
                vendor: &p.vendor,
                vendor_id: &p.vendor_id,
                name: &p.name,
                kind: &p.r#type,
                model: &p.model,
                hardware_version: &p.hardware_version,
                firmware_version: &p.firmware_version,
                firmware_digests: p.firmware_digests.iter().map(DigestJson::new).collect(),
            }),
            holder: c.holder.as_ref().map(|h| HolderJson {
                name: &h.name,
                address: &h.address,
                website: &h.website,
            }),
            certification_body: c.certification_body.as_ref().map(|b| BodyJson {
                name: &b.name,
                id: &b.id,
            }),
            test_lab: &c.test_lab,
            evidence: c.evidence.iter().map(EvidenceJson::new).collect(),
            issued_at: c.issued_at,
            not_before: c.not_before,
            not_after: c.not_after,
            support_period_end: c.support_period_end,
            supersedes: c.supersedes.as_ref().map(|s| SupersedesJson {
                certificate_id: &s.certificate_id,
                log_index: s.log_index,
            }),
            ext: &c.ext,
        }
    }
}

impl<'a> StandardJson<'a> {
    fn new(s: &'a Standard) -> StandardJson<'a> {
        StandardJson {
            id: &s.id,
            version: &s.version,
        }
    }
}

impl<'a> DigestJson<'a> {
    fn new(d: &'a Digest) -> DigestJson<'a> {
        DigestJson {
            alg: &d.alg,
            digest: hex::encode(&d.digest),
        }
    }
}

impl<'a> EvidenceJson<'a> {
    fn new(e: &'a Evidence) -> EvidenceJson<'a> {
        EvidenceJson {
            kind: &e.kind,
            uri: &e.uri,
            sha256: hex::encode(&e.sha256),
        }
    }
}

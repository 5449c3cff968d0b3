//! What a verified bundle proves, as JSON (the fields of
//! [`certlog_verifier::bundle::Verified`]): the standing, the tree to trust next, the
//! checkpoint and map head it was proven against, the certificate, its status record with the
//! history of its changes, and its certifier's record (docs/trust.md "The certifier's state").
//!
//! Times are seconds since the Unix epoch, hashes and roots base64, digests hex. Absent
//! certificates have `certificate`, `status` and `certifier` null.

use alloc::string::String;
use alloc::vec::Vec;

use certlog_verifier::bundle::Verified;
use certlog_verifier::certificate::status_name;
use certlog_verifier::proto::{CertifierKey, CertifierRecord, StatusRecord, StatusStep};
use serde::Serialize;

use crate::certificate::CertificateJson;
use crate::request::Tree;

/// A verified bundle's answer.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Always true: the bundle verified (a failure is a [`crate::Failure`]).
    pub ok: bool,
    /// The standing's name ([`certlog_verifier::bundle::Standing::name`]).
    pub standing: &'static str,
    /// The certificate's scheme.
    pub scheme: &'a str,
    /// Its ID.
    pub certificate_id: &'a str,
    /// The tree to pass as `trusted` next time ([`Verified::tree`]).
    pub tree: Tree,
    /// The checkpoint everything was proven against.
    pub checkpoint: CheckpointJson<'a>,
    /// The map head the status was proven under.
    pub map_head: MapHeadJson,
    /// The certificate, when in the log.
    pub certificate: Option<CertificateJson<'a>>,
    /// Its status record, when in the log.
    pub status: Option<StatusJson<'a>>,
    /// The record of its certifier, when in the log.
    pub certifier: Option<CertifierJson<'a>>,
}

/// A checkpoint and the witnesses that cosigned it.
#[derive(Debug, Serialize)]
pub struct CheckpointJson<'a> {
    /// The log's origin line.
    pub origin: &'a str,
    /// The tree's size.
    pub size: u64,
    /// Its root.
    pub root: String,
    /// The witnesses whose cosignatures verified.
    pub cosignatures: Vec<CosignatureJson<'a>>,
}

/// A verified cosignature.
#[derive(Debug, Serialize)]
pub struct CosignatureJson<'a> {
    /// The witness's key name.
    pub witness: &'a str,
    /// When it cosigned.
    pub timestamp: u64,
}

/// A map head: the status map over the entries before it.
#[derive(Debug, Serialize)]
pub struct MapHeadJson {
    /// Its index in the log (the number of entries it covers).
    pub index: u64,
    /// The log's time at it.
    pub timestamp: i64,
}

/// A certificate's status record.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    /// Its status as recorded (the standing may differ: dates, a compromised certifier).
    pub status: &'static str,
    /// The certifier that issued it, by key name.
    pub certifier: &'a str,
    /// The index of the entry that issued it.
    pub issued_index: u64,
    /// The index of the last change, or of the issuing entry when none.
    pub last_change_index: u64,
    /// Every change since the issuance, oldest first.
    pub history: Vec<StepJson<'a>>,
}

/// One status change.
#[derive(Debug, Serialize)]
pub struct StepJson<'a> {
    /// Its entry's index.
    pub index: u64,
    /// The status it set.
    pub status: &'static str,
    /// Its reason.
    pub reason: &'a str,
    /// When it takes effect.
    pub effective_at: i64,
    /// Who made it: "operator" or "certifier".
    pub by: &'static str,
}

/// A certifier's record.
#[derive(Debug, Serialize)]
pub struct CertifierJson<'a> {
    /// Its key name.
    pub name: &'a str,
    /// Its current key, as a C2SP vkey.
    pub vkey: &'a str,
    /// The schemes it may publish under.
    pub schemes: &'a [String],
    /// The index of its registration.
    pub registered_index: u64,
    /// The index that made its current key its key.
    pub key_index: u64,
    /// Its earlier keys, oldest first.
    pub earlier_keys: Vec<KeyJson<'a>>,
    /// Whether it is retired.
    pub retired: bool,
    /// The index of its retirement, once retired.
    pub retired_index: Option<u64>,
    /// Once retired as compromised: the first index from which its certificates stand revoked
    /// and its status changes are void.
    pub compromised_index: Option<u64>,
}

/// A key a certifier had.
#[derive(Debug, Serialize)]
pub struct KeyJson<'a> {
    /// The key, as a C2SP vkey.
    pub vkey: &'a str,
    /// The first index it signed at.
    pub from_index: u64,
    /// The index from which it no longer did.
    pub until_index: u64,
}

impl<'a> Report<'a> {
    /// The report of a verified bundle.
    pub fn new(verified: &'a Verified) -> Report<'a> {
        let tree = verified.tree();
        let checkpoint = &verified.checkpoint.checkpoint;
        Report {
            ok: true,
            standing: verified.standing.name(),
            scheme: &verified.scheme,
            certificate_id: &verified.certificate_id,
            tree: Tree {
                size: tree.size,
                root: tree.root.to_base64(),
            },
            checkpoint: CheckpointJson {
                origin: &checkpoint.origin,
                size: checkpoint.size,
                root: checkpoint.root.to_base64(),
                cosignatures: verified
                    .cosignatures
                    .iter()
                    .map(|c| CosignatureJson {
                        witness: &c.name,
                        timestamp: c.timestamp,
                    })
                    .collect(),
            },
            map_head: MapHeadJson {
                index: verified.map_head.tree_size,
                timestamp: verified.map_head.timestamp,
            },
            certificate: verified.certificate.as_ref().map(CertificateJson::new),
            status: verified.record.as_ref().map(StatusJson::new),
            certifier: verified
                .record
                .as_ref()
                .zip(verified.certifier.as_ref())
                .map(|(record, certifier)| CertifierJson::new(&record.certifier, certifier)),
        }
    }
}

impl<'a> StatusJson<'a> {
    fn new(record: &'a StatusRecord) -> StatusJson<'a> {
        StatusJson {
            status: status_name(record.status()),
            certifier: &record.certifier,
            issued_index: record.issued_index,
            last_change_index: record.last_change_index,
            history: record.history.iter().map(StepJson::new).collect(),
        }
    }
}

impl<'a> StepJson<'a> {
    fn new(step: &'a StatusStep) -> StepJson<'a> {
        StepJson {
            index: step.index,
            status: status_name(step.status()),
            reason: &step.reason,
            effective_at: step.effective_at,
            by: if step.by_operator {
                "operator"
            } else {
                "certifier"
            },
        }
    }
}

impl<'a> CertifierJson<'a> {
    fn new(name: &'a str, record: &'a CertifierRecord) -> CertifierJson<'a> {
        CertifierJson {
            name,
            vkey: &record.vkey,
            schemes: &record.schemes,
            registered_index: record.registered_index,
            key_index: record.key_index,
            earlier_keys: record.earlier_keys.iter().map(KeyJson::new).collect(),
            retired: record.retired_index.is_some(),
            retired_index: record.retired_index,
            compromised_index: record.compromised_index,
        }
    }
}

impl<'a> KeyJson<'a> {
    fn new(key: &'a CertifierKey) -> KeyJson<'a> {
        KeyJson {
            vkey: &key.vkey,
            from_index: key.from_index,
            until_index: key.until_index,
        }
    }
}

//! The rules of the log (DESIGN "What is in the log"): which statement may be appended given
//! what the log already holds. The sequencer applies them before it appends an entry, and an
//! auditor replays them over the whole log; both read the state through [`LogState`] and get
//! back the [`Change`] an entry makes, so they cannot disagree.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use certlog_verifier::certificate::{self, CertificateError, status_key, transition_allowed};
use certlog_verifier::entry::{self, EntryError};
use certlog_verifier::key::{KeyError, KeyType, VerifierKey};
use certlog_verifier::merkle::{self, Hash};
use certlog_verifier::proto::{
    CertificateStatus, CertifierKey, CertifierRecord, Entry, SignedStatement, Statement,
    StatusChanged, StatusRecord, StatusStep, statement,
};
use certlog_verifier::text::{self, TextError};

/// What the rules read of the log so far.
pub trait LogState {
    /// Why the state could not be read.
    type Error;

    /// The registry record of a certifier, by key name.
    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>, Self::Error>;

    /// The status record of a certificate, by status-map key.
    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, Self::Error>;

    /// The index at which the first batch whose map head's time is at or after `time` begins;
    /// when no map head is that late, the index at which the batch being sequenced began (the
    /// index after the last map head). Map head times never go back.
    fn batch_start_at(&self, time: i64) -> Result<u64, Self::Error>;

    /// The status-map keys of the certificates whose status `certifier` changed (itself, not
    /// the operator) at an index at or after `from`, each once.
    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>, Self::Error>;
}

/// What an accepted entry changes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A certifier registered, given a new key or retired: its new record, and the status
    /// records a retirement as compromised restored (its changes from then on voided).
    Certifier {
        /// The certifier's key name.
        name: String,
        /// Its record after the entry.
        record: CertifierRecord,
        /// Status records restored, by status-map key.
        restored: Vec<(Hash, StatusRecord)>,
    },
    /// A certificate issued or its status changed: its new status record.
    Status {
        /// The status-map key.
        key: Hash,
        /// The record after the entry.
        record: StatusRecord,
    },
    /// A map head: no change to the state (its root is checked against the status map).
    MapHead,
}

/// The class of a rule violation, which the server turns into a gRPC status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The entry is malformed or breaks a certificate rule.
    InvalidArgument,
    /// The signature does not verify.
    Unauthenticated,
    /// The signer may not make this statement.
    PermissionDenied,
    /// The certificate or certifier already exists.
    AlreadyExists,
    /// The certificate or certifier does not exist.
    NotFound,
    /// The statement does not follow from the current state.
    FailedPrecondition,
}

/// Why an entry may not be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError<E> {
    /// The entry bytes are not a well-formed entry.
    #[error("{0}")]
    Entry(#[from] EntryError),
    /// The certificate is missing a field or has bad dates.
    #[error("{0}")]
    Certificate(#[from] CertificateError),
    /// A string of the statement holds what its field does not allow.
    #[error("{0}")]
    Text(#[from] TextError),
    /// A key in a registration is not a valid Ed25519 vkey.
    #[error("certifier vkey: {0}")]
    Key(KeyError),
    /// A malformed statement field.
    #[error("{0}")]
    Invalid(String),
    /// The signer is not a registered certifier.
    #[error("unknown certifier {0:?}")]
    UnknownCertifier(String),
    /// The certifier was retired.
    #[error("certifier {0:?} is retired")]
    RetiredCertifier(String),
    /// The signer's key ID is not the registered key's.
    #[error("certifier {name:?} signed with key {key_id:08x}, not its registered key")]
    WrongKey {
        /// The certifier.
        name: String,
        /// The key ID used.
        key_id: u32,
    },
    /// The certifier may not publish under this scheme.
    #[error("certifier {name:?} may not publish under scheme {scheme:?}")]
    SchemeNotAllowed {
        /// The certifier.
        name: String,
        /// The scheme.
        scheme: String,
    },
    /// A registry statement not signed by the operator.
    #[error("registry statements must be signed by the operator key {0}")]
    NotOperator(String),
    /// A statement of the wrong kind for the service it came to.
    #[error("{0}")]
    WrongService(&'static str),
    /// The certificate was already issued, with other bytes.
    #[error("certificate {scheme}/{certificate_id} was already issued at index {index}")]
    AlreadyIssued {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
        /// The issuing entry.
        index: u64,
    },
    /// The certifier is already registered.
    #[error("certifier {0:?} is already registered")]
    AlreadyRegistered(String),
    /// A status change for a certificate never issued.
    #[error("certificate {scheme}/{certificate_id} was never issued")]
    UnknownCertificate {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
    },
    /// A status change by another certifier than the issuer.
    #[error("certificate {scheme}/{certificate_id} was issued by {issuer:?}, not {signer:?}")]
    NotIssuer {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
        /// Who issued it.
        issuer: String,
        /// Who tried to change it.
        signer: String,
    },
    /// A status change that does not follow the current status (stale or replayed).
    #[error(
        "status change follows entry {given}, but the last entry of this certificate is {current}"
    )]
    Stale {
        /// The previous index the statement names.
        given: u64,
        /// The certificate's last entry.
        current: u64,
    },
    /// A certifier lifting a suspension the operator made.
    #[error(
        "certificate {scheme}/{certificate_id} was suspended by the operator: only the operator lifts it"
    )]
    OperatorSuspension {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
    },
    /// A forbidden status transition.
    #[error("certificate cannot go from {from} to {to}")]
    ForbiddenTransition {
        /// The current status.
        from: &'static str,
        /// The requested one.
        to: &'static str,
    },
    /// The state could not be read.
    #[error("reading log state: {0}")]
    State(E),
}

impl<E> RuleError<E> {
    /// The class of the violation.
    pub fn violation(&self) -> Violation {
        use RuleError::*;
        match self {
            Entry(EntryError::BadSignature { .. }) => Violation::Unauthenticated,
            Entry(_) | Certificate(_) | Text(_) | Key(_) | Invalid(_) | WrongService(_) => {
                Violation::InvalidArgument
            }
            UnknownCertifier(_)
            | RetiredCertifier(_)
            | WrongKey { .. }
            | SchemeNotAllowed { .. }
            | NotOperator(_)
            | NotIssuer { .. }
            | OperatorSuspension { .. } => Violation::PermissionDenied,
            AlreadyIssued { .. } | AlreadyRegistered(_) => Violation::AlreadyExists,
            UnknownCertificate { .. } => Violation::NotFound,
            Stale { .. } | ForbiddenTransition { .. } => Violation::FailedPrecondition,
            // Not the submitter's fault; the server reports it as internal.
            State(_) => Violation::FailedPrecondition,
        }
    }
}

/// Who may sign a statement: the operator for the registry, a registered certifier otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The log operator.
    Operator,
    /// A certifier.
    Certifier,
}

/// Which signer a statement needs.
pub fn required_signer(statement: &Statement) -> Signer {
    match statement.body {
        Some(
            statement::Body::CertifierRegistered(_)
            | statement::Body::CertifierRetired(_)
            | statement::Body::CertifierKeyRotated(_)
            | statement::Body::OperatorStatusChanged(_),
        ) => Signer::Operator,
        _ => Signer::Certifier,
    }
}

/// The key that must have signed a statement: the operator's, or the registered key of the
/// certifier it names (which must not be retired).
pub fn signing_key<S: LogState>(
    signed: &SignedStatement,
    statement: &Statement,
    operator: &VerifierKey,
    state: &S,
) -> Result<VerifierKey, RuleError<S::Error>> {
    signing_key_cached(signed, statement, operator, state, &mut KeyCache::default())
}

/// Certifier keys already parsed, by vkey string: parsing an Ed25519 key decompresses a curve
/// point, which costs a good part of a signature check, and a log or a replay meets the same
/// few keys over and over. With `std`, a key met [`KeyCache::TABLE_AFTER`] times gets the
/// tables that halve the cost of its signature checks ([`VerifierKey::precompute`]), up to
/// [`KeyCache::MAX_TABLES`] keys: 20 MiB at most.
#[derive(Clone, Debug, Default)]
pub struct KeyCache {
    keys: alloc::collections::BTreeMap<String, CachedKey>,
    /// How many keys have tables.
    tables: usize,
}

#[derive(Clone, Debug)]
struct CachedKey {
    key: VerifierKey,
    uses: u32,
}

impl KeyCache {
    /// The uses of a key after which its tables are built: about what they cost to build
    /// (1.5 ms), in what they save (some 20 µs a signature).
    pub const TABLE_AFTER: u32 = 64;
    /// The most keys with tables, 640 KiB each.
    pub const MAX_TABLES: usize = 32;

    /// The key of a vkey string, parsed once.
    fn get(&mut self, vkey: String) -> Result<VerifierKey, KeyError> {
        use alloc::collections::btree_map::Entry;
        let cached = match self.keys.entry(vkey) {
            Entry::Occupied(cached) => cached.into_mut(),
            Entry::Vacant(new) => {
                let key = new.key().parse()?;
                new.insert(CachedKey { key, uses: 0 })
            }
        };
        cached.uses = cached.uses.saturating_add(1);
        if cached.uses == Self::TABLE_AFTER && self.tables < Self::MAX_TABLES {
            cached.key.precompute();
            self.tables += 1;
        }
        Ok(cached.key.clone())
    }
}

/// [`signing_key`], parsing each certifier key once.
pub fn signing_key_cached<S: LogState>(
    signed: &SignedStatement,
    statement: &Statement,
    operator: &VerifierKey,
    state: &S,
    cache: &mut KeyCache,
) -> Result<VerifierKey, RuleError<S::Error>> {
    match required_signer(statement) {
        Signer::Operator => {
            if signed.signer != operator.name() || signed.key_id != operator.key_id() {
                return Err(RuleError::NotOperator(operator.to_string()));
            }
            Ok(operator.clone())
        }
        Signer::Certifier => {
            let record = certifier_of(signed, state)?;
            cache.get(record.vkey).map_err(RuleError::Key)
        }
    }
}

/// The record of the unretired certifier that signed a statement, with the key it signed with.
fn certifier_of<S: LogState>(
    signed: &SignedStatement,
    state: &S,
) -> Result<CertifierRecord, RuleError<S::Error>> {
    let record = active_certifier(&signed.signer, state)?;
    if record.key_id != signed.key_id {
        return Err(RuleError::WrongKey {
            name: signed.signer.clone(),
            key_id: signed.key_id,
        });
    }
    Ok(record)
}

fn active_certifier<S: LogState>(
    name: &str,
    state: &S,
) -> Result<CertifierRecord, RuleError<S::Error>> {
    let record = state
        .certifier(name)
        .map_err(RuleError::State)?
        .ok_or_else(|| RuleError::UnknownCertifier(name.into()))?;
    if record.retired_index.is_some() {
        return Err(RuleError::RetiredCertifier(name.into()));
    }
    Ok(record)
}

/// Decodes, authenticates and applies an entry at `index`: the whole rule check an auditor
/// replays. The sequencer does the same in two steps, checking signatures ahead of the queue
/// ([`signing_key`], [`certlog_verifier::entry::verify_statement`]) and the state in order ([`apply`]).
pub fn check_entry<S: LogState>(
    bytes: &[u8],
    index: u64,
    operator: &VerifierKey,
    state: &S,
) -> Result<Change, RuleError<S::Error>> {
    let entry: Entry = entry::decode_entry(bytes)?;
    let Some(signed) = entry::signed_statement(&entry) else {
        return Ok(Change::MapHead);
    };
    let statement = entry::decode_statement(signed)?;
    let key = signing_key(signed, &statement, operator, state)?;
    entry::verify_statement(signed, &key)?;
    apply(signed, &statement, index, &merkle::leaf_hash(bytes), state)
}

/// The status-map key of the certificate a statement is about (none for the registry's
/// statements and map heads): the status record [`apply`] reads and changes.
pub fn certificate_key(statement: &Statement) -> Option<Hash> {
    match &statement.body {
        Some(statement::Body::CertificateIssued(cert)) => {
            Some(status_key(&cert.scheme, &cert.certificate_id))
        }
        Some(
            statement::Body::StatusChanged(change) | statement::Body::OperatorStatusChanged(change),
        ) => Some(status_key(&change.scheme, &change.certificate_id)),
        _ => None,
    }
}

/// Applies an authenticated statement at `index`, whose entry has the RFC 6962 leaf hash
/// `leaf`, to the state: the change it makes, or why it may not be appended.
pub fn apply<S: LogState>(
    signed: &SignedStatement,
    statement: &Statement,
    index: u64,
    leaf: &Hash,
    state: &S,
) -> Result<Change, RuleError<S::Error>> {
    let signer = &signed.signer;
    match &statement.body {
        Some(statement::Body::CertificateIssued(cert)) => {
            let certifier = certifier_of(signed, state)?;
            certificate::validate(cert)?;
            if !certifier.schemes.contains(&cert.scheme) {
                return Err(RuleError::SchemeNotAllowed {
                    name: signer.clone(),
                    scheme: cert.scheme.clone(),
                });
            }
            let key = status_key(&cert.scheme, &cert.certificate_id);
            if let Some(existing) = state.status(&key).map_err(RuleError::State)? {
                return Err(RuleError::AlreadyIssued {
                    scheme: cert.scheme.clone(),
                    certificate_id: cert.certificate_id.clone(),
                    index: existing.issued_index,
                });
            }
            Ok(Change::Status {
                key,
                record: StatusRecord {
                    scheme: cert.scheme.clone(),
                    certificate_id: cert.certificate_id.clone(),
                    status: CertificateStatus::Active.into(),
                    certifier: signer.clone(),
                    issued_index: index,
                    last_change_index: index,
                    reason: String::new(),
                    effective_at: 0,
                    by_operator: false,
                    history: Vec::new(),
                    entry_hash: leaf.0.to_vec(),
                },
            })
        }
        Some(statement::Body::StatusChanged(change)) => {
            certifier_of(signed, state)?;
            change_status(change, Some(signer), index, state)
        }
        Some(statement::Body::OperatorStatusChanged(change)) => {
            change_status(change, None, index, state)
        }
        Some(statement::Body::CertifierRegistered(reg)) => {
            let vkey: VerifierKey = reg.vkey.parse().map_err(RuleError::Key)?;
            vkey.expect_type(KeyType::Ed25519).map_err(RuleError::Key)?;
            text::check_certifier_name("vkey", vkey.name())?;
            for scheme in &reg.schemes {
                text::check_scheme("schemes", scheme)?;
            }
            let name = vkey.name().to_string();
            if state.certifier(&name).map_err(RuleError::State)?.is_some() {
                return Err(RuleError::AlreadyRegistered(name));
            }
            Ok(Change::Certifier {
                name,
                record: CertifierRecord {
                    vkey: vkey.to_string(),
                    schemes: reg.schemes.clone(),
                    registered_index: index,
                    retired_index: None,
                    key_id: vkey.key_id(),
                    key_index: index,
                    earlier_keys: Vec::new(),
                    compromised_index: None,
                },
                restored: Vec::new(),
            })
        }
        Some(statement::Body::CertifierRetired(ret)) => {
            text::check_text("reason", &ret.reason)?;
            let record = active_certifier(&ret.name, state)?;
            let mut restored = Vec::new();
            let compromised_index = match ret.compromised_since {
                0 => None,
                since if since < 0 => {
                    return Err(RuleError::Invalid(
                        "compromised_since is before 1970".into(),
                    ));
                }
                since => {
                    let from = state.batch_start_at(since).map_err(RuleError::State)?;
                    for key in state
                        .changed_by(&ret.name, from)
                        .map_err(RuleError::State)?
                    {
                        if let Some(current) = state.status(&key).map_err(RuleError::State)? {
                            restored.push((key, void_certifier_changes(current, from)));
                        }
                    }
                    Some(from)
                }
            };
            Ok(Change::Certifier {
                name: ret.name.clone(),
                record: CertifierRecord {
                    retired_index: Some(index),
                    compromised_index,
                    ..record
                },
                restored,
            })
        }
        Some(statement::Body::CertifierKeyRotated(rotated)) => {
            let vkey: VerifierKey = rotated.vkey.parse().map_err(RuleError::Key)?;
            vkey.expect_type(KeyType::Ed25519).map_err(RuleError::Key)?;
            text::check_text("reason", &rotated.reason)?;
            let name = vkey.name().to_string();
            let mut record = active_certifier(&name, state)?;
            let new = vkey.to_string();
            if record.vkey == new || record.earlier_keys.iter().any(|k| k.vkey == new) {
                return Err(RuleError::Invalid(alloc::format!(
                    "certifier {name:?} had this key already: a rotation needs a new key"
                )));
            }
            let old = CertifierKey {
                vkey: core::mem::replace(&mut record.vkey, new),
                key_id: record.key_id,
                from_index: record.key_index,
                until_index: index,
            };
            record.earlier_keys.push(old);
            record.key_id = vkey.key_id();
            record.key_index = index;
            Ok(Change::Certifier {
                name,
                record,
                restored: Vec::new(),
            })
        }
        None => Err(RuleError::Entry(EntryError::Empty("statement body"))),
    }
}

/// A status record without the changes its certifier made at or after `from` (a compromised
/// key's): the remaining changes are applied again from the issuance, in order, each only if
/// its transition is still allowed. Changes before `from` all come before the first voided
/// one, so only the operator's after it can meet another state than they did.
pub fn void_certifier_changes(record: StatusRecord, from: u64) -> StatusRecord {
    let steps = record.history.clone();
    let mut out = StatusRecord {
        status: CertificateStatus::Active.into(),
        last_change_index: record.issued_index,
        reason: String::new(),
        effective_at: 0,
        by_operator: false,
        history: Vec::new(),
        ..record
    };
    for step in steps {
        if (!step.by_operator && step.index >= from)
            || !transition_allowed(out.status(), step.status())
        {
            continue;
        }
        out.status = step.status;
        out.last_change_index = step.index;
        out.reason = step.reason.clone();
        out.effective_at = step.effective_at;
        out.by_operator = step.by_operator;
        out.history.push(step);
    }
    out
}

/// Applies a status change at `index`, by the certifier `by` or, when `None`, by the operator
/// (whose signature the caller checked).
fn change_status<S: LogState>(
    change: &StatusChanged,
    by: Option<&String>,
    index: u64,
    state: &S,
) -> Result<Change, RuleError<S::Error>> {
    text::check_scheme("scheme", &change.scheme)?;
    text::check_certificate_id("certificate_id", &change.certificate_id)?;
    text::check_text("reason", &change.reason)?;
    let key = status_key(&change.scheme, &change.certificate_id);
    let current = state
        .status(&key)
        .map_err(RuleError::State)?
        .ok_or_else(|| RuleError::UnknownCertificate {
            scheme: change.scheme.clone(),
            certificate_id: change.certificate_id.clone(),
        })?;
    if let Some(signer) = by
        && current.certifier != *signer
    {
        return Err(RuleError::NotIssuer {
            scheme: change.scheme.clone(),
            certificate_id: change.certificate_id.clone(),
            issuer: current.certifier.clone(),
            signer: signer.clone(),
        });
    }
    if change.issued_index != current.issued_index {
        return Err(RuleError::Invalid(alloc::format!(
            "issued_index {} is not the issuing entry {}",
            change.issued_index,
            current.issued_index
        )));
    }
    if change.previous_index != current.last_change_index {
        return Err(RuleError::Stale {
            given: change.previous_index,
            current: current.last_change_index,
        });
    }
    let to = CertificateStatus::try_from(change.status)
        .map_err(|_| RuleError::Invalid(alloc::format!("unknown status {}", change.status)))?;
    if !transition_allowed(current.status(), to) {
        return Err(RuleError::ForbiddenTransition {
            from: certificate::status_name(current.status()),
            to: certificate::status_name(to),
        });
    }
    if by.is_some()
        && current.by_operator
        && current.status() == CertificateStatus::Suspended
        && to == CertificateStatus::Active
    {
        return Err(RuleError::OperatorSuspension {
            scheme: change.scheme.clone(),
            certificate_id: change.certificate_id.clone(),
        });
    }
    if change.reason.trim().is_empty() {
        return Err(RuleError::Invalid("a status change needs a reason".into()));
    }
    if change.effective_at <= 0 {
        return Err(RuleError::Invalid(
            "a status change needs effective_at".into(),
        ));
    }
    let mut history = current.history.clone();
    history.push(StatusStep {
        index,
        status: to.into(),
        reason: change.reason.clone(),
        effective_at: change.effective_at,
        by_operator: by.is_none(),
    });
    Ok(Change::Status {
        key,
        record: StatusRecord {
            status: to.into(),
            last_change_index: index,
            reason: change.reason.clone(),
            effective_at: change.effective_at,
            by_operator: by.is_none(),
            history,
            ..current
        },
    })
}

/// An in-memory [`LogState`], for auditors replaying a log and for tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryState {
    /// Certifiers by key name.
    pub certifiers: alloc::collections::BTreeMap<String, CertifierRecord>,
    /// Status records by status-map key.
    pub statuses: alloc::collections::BTreeMap<Hash, StatusRecord>,
    /// Each map head's time and index, in log order.
    pub map_heads: Vec<(i64, u64)>,
}

impl LogState for MemoryState {
    type Error = core::convert::Infallible;

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>, Self::Error> {
        Ok(self.certifiers.get(name).cloned())
    }

    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, Self::Error> {
        Ok(self.statuses.get(key).cloned())
    }

    fn batch_start_at(&self, time: i64) -> Result<u64, Self::Error> {
        // The batch of the first map head that late begins after the map head before it.
        let later = self.map_heads.partition_point(|(t, _)| *t < time);
        Ok(match later.checked_sub(1) {
            Some(before) => self.map_heads[before].1 + 1,
            None => 0,
        })
    }

    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>, Self::Error> {
        Ok(self
            .statuses
            .iter()
            .filter(|(_, r)| {
                r.certifier == certifier
                    && r.history.iter().any(|s| !s.by_operator && s.index >= from)
            })
            .map(|(key, _)| *key)
            .collect())
    }
}

impl MemoryState {
    /// Records a change.
    pub fn record(&mut self, change: Change) {
        match change {
            Change::Certifier {
                name,
                record,
                restored,
            } => {
                self.certifiers.insert(name, record);
                self.statuses.extend(restored);
            }
            Change::Status { key, record } => {
                self.statuses.insert(key, record);
            }
            Change::MapHead => {}
        }
    }

    /// Records a map head at `index` with its time.
    pub fn record_map_head(&mut self, index: u64, time: i64) {
        self.map_heads.push((time, index));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{change, issue as cert};
    use certlog_verifier::entry::{encode_entry, sign_statement};
    use certlog_verifier::key::SigningKey;
    use certlog_verifier::proto::{CertifierKeyRotated, CertifierRegistered, CertifierRetired};

    struct Log {
        operator: SigningKey,
        state: MemoryState,
        size: u64,
    }

    impl Log {
        fn new() -> Log {
            Log {
                operator: SigningKey::from_seed("op.example", KeyType::Ed25519, &[1; 32]).unwrap(),
                state: MemoryState::default(),
                size: 0,
            }
        }

        fn submit(&mut self, key: &SigningKey, body: statement::Body) -> Result<u64, Violation> {
            let bytes = encode_entry(sign_statement(key, body).unwrap());
            let change = check_entry(
                &bytes,
                self.size,
                &self.operator.verifier_key(),
                &self.state,
            )
            .map_err(|e| e.violation())?;
            self.state.record(change);
            self.size += 1;
            Ok(self.size - 1)
        }

        fn register(&mut self, certifier: &SigningKey, schemes: &[&str]) -> Result<u64, Violation> {
            let op = self.operator.clone();
            self.submit(
                &op,
                statement::Body::CertifierRegistered(CertifierRegistered {
                    vkey: certifier.verifier_key().to_string(),
                    schemes: schemes.iter().map(|s| s.to_string()).collect(),
                    registered_at: 1,
                }),
            )
        }
    }

    fn certifier(n: u8) -> SigningKey {
        SigningKey::from_seed(
            &alloc::format!("cb{n}.example"),
            KeyType::Ed25519,
            &[n + 10; 32],
        )
        .unwrap()
    }

    #[test]
    fn the_life_of_a_certificate() {
        use CertificateStatus::*;
        let mut log = Log::new();
        let cb = certifier(1);
        log.register(&cb, &["EUCC"]).unwrap();
        let issued = log.submit(&cb, cert("A")).unwrap();
        let s1 = log
            .submit(&cb, change("A", issued, issued, Suspended))
            .unwrap();
        // Replaying the suspension, or following a stale entry, is refused.
        assert_eq!(
            log.submit(&cb, change("A", issued, issued, Suspended)),
            Err(Violation::FailedPrecondition)
        );
        let s2 = log.submit(&cb, change("A", issued, s1, Active)).unwrap();
        let s3 = log.submit(&cb, change("A", issued, s2, Revoked)).unwrap();
        assert_eq!(
            log.submit(&cb, change("A", issued, s3, Active)),
            Err(Violation::FailedPrecondition)
        );
        let record = &log.state.statuses[&status_key("EUCC", "A")];
        assert_eq!(record.status(), Revoked);
        assert_eq!(record.last_change_index, s3);
    }

    /// A certifier's status change, made the operator's.
    fn by_operator(body: statement::Body) -> statement::Body {
        match body {
            statement::Body::StatusChanged(c) => statement::Body::OperatorStatusChanged(c),
            other => other,
        }
    }

    #[test]
    fn the_operator_changes_any_certificate() {
        use CertificateStatus::*;
        let mut log = Log::new();
        let cb = certifier(1);
        let op = log.operator.clone();
        log.register(&cb, &["EUCC"]).unwrap();
        let a = log.submit(&cb, cert("A")).unwrap();
        // The operator suspends; the certifier may not lift that, the operator may.
        let s1 = log
            .submit(&op, by_operator(change("A", a, a, Suspended)))
            .unwrap();
        assert!(log.state.statuses[&status_key("EUCC", "A")].by_operator);
        assert_eq!(
            log.submit(&cb, change("A", a, s1, Active)),
            Err(Violation::PermissionDenied)
        );
        let s2 = log
            .submit(&op, by_operator(change("A", a, s1, Active)))
            .unwrap();
        // Only the operator signs the operator's changes.
        assert_eq!(
            log.submit(&cb, by_operator(change("A", a, s2, Revoked))),
            Err(Violation::PermissionDenied)
        );
        // After the certifier is retired, its certificates can still be revoked, by the
        // operator only.
        log.submit(
            &op,
            statement::Body::CertifierRetired(CertifierRetired {
                name: "cb1.example".into(),
                reason: "key stolen".into(),
                retired_at: 2,
                compromised_since: 0,
            }),
        )
        .unwrap();
        assert_eq!(
            log.submit(&cb, change("A", a, s2, Revoked)),
            Err(Violation::PermissionDenied)
        );
        let s3 = log
            .submit(&op, by_operator(change("A", a, s2, Revoked)))
            .unwrap();
        let record = &log.state.statuses[&status_key("EUCC", "A")];
        assert_eq!(
            (
                record.status(),
                record.last_change_index,
                record.by_operator
            ),
            (Revoked, s3, true)
        );
    }

    #[test]
    fn a_compromise_voids_the_certifiers_changes_from_its_batch_on() {
        use CertificateStatus::*;
        let mut log = Log::new();
        let cb = certifier(1);
        let op = log.operator.clone();
        log.register(&cb, &["EUCC"]).unwrap();
        let a = log.submit(&cb, cert("A")).unwrap();
        let b = log.submit(&cb, cert("B")).unwrap();
        let a1 = log.submit(&cb, change("A", a, a, Suspended)).unwrap();
        // Map heads: a batch of time 100 ended at index 4, one of time 200 at index 9.
        log.state.record_map_head(4, 100);
        log.state.record_map_head(9, 200);
        log.size = 10;
        assert_eq!(log.state.batch_start_at(50), Ok(0));
        assert_eq!(log.state.batch_start_at(100), Ok(0));
        assert_eq!(log.state.batch_start_at(101), Ok(5));
        assert_eq!(log.state.batch_start_at(201), Ok(10));
        // From index 10 on, the key is the thief's: it lifts A's suspension and revokes B;
        // then the operator suspends B (from revoked: refused) and withdraws A.
        let a2 = log.submit(&cb, change("A", a, a1, Active)).unwrap();
        let b1 = log.submit(&cb, change("B", b, b, Revoked)).unwrap();
        let a3 = log
            .submit(&op, by_operator(change("A", a, a2, Withdrawn)))
            .unwrap();
        let mut thief_changed = alloc::vec![status_key("EUCC", "A"), status_key("EUCC", "B")];
        thief_changed.sort();
        assert_eq!(log.state.changed_by("cb1.example", 10), Ok(thief_changed));
        log.submit(
            &op,
            statement::Body::CertifierRetired(CertifierRetired {
                name: "cb1.example".into(),
                reason: "key stolen".into(),
                retired_at: 300,
                compromised_since: 150,
            }),
        )
        .unwrap();
        let record = &log.state.certifiers["cb1.example"];
        assert_eq!(record.compromised_index, Some(5));
        // A: the thief's reinstatement is void, the operator's withdrawal stands.
        let a_now = &log.state.statuses[&status_key("EUCC", "A")];
        assert_eq!(
            (a_now.status(), a_now.last_change_index, a_now.by_operator),
            (Withdrawn, a3, true)
        );
        assert_eq!(
            a_now.history.iter().map(|s| s.index).collect::<Vec<_>>(),
            alloc::vec![a1, a3]
        );
        // B: the thief's revocation is void.
        let b_now = &log.state.statuses[&status_key("EUCC", "B")];
        assert_eq!((b_now.status(), b_now.last_change_index), (Active, b));
        assert!(b_now.history.is_empty());
        let _ = b1;
    }

    #[test]
    fn a_rotation_gives_the_certifier_a_new_key() {
        let mut log = Log::new();
        let cb = certifier(1);
        let op = log.operator.clone();
        log.register(&cb, &["EUCC"]).unwrap();
        let a = log.submit(&cb, cert("A")).unwrap();
        let new = SigningKey::from_seed("cb1.example", KeyType::Ed25519, &[77; 32]).unwrap();
        let rotate = |key: &SigningKey| {
            statement::Body::CertifierKeyRotated(CertifierKeyRotated {
                vkey: key.verifier_key().to_string(),
                reason: "yearly".into(),
                rotated_at: 5,
            })
        };
        // Only the operator rotates, and only to a new key.
        assert_eq!(
            log.submit(&cb, rotate(&new)),
            Err(Violation::PermissionDenied)
        );
        assert_eq!(
            log.submit(&op, rotate(&cb)),
            Err(Violation::InvalidArgument)
        );
        let r = log.submit(&op, rotate(&new)).unwrap();
        let record = &log.state.certifiers["cb1.example"];
        assert_eq!(record.key_index, r);
        assert_eq!(record.earlier_keys.len(), 1);
        assert_eq!(
            (
                record.earlier_keys[0].from_index,
                record.earlier_keys[0].until_index
            ),
            (0, r)
        );
        assert_eq!(log.submit(&cb, cert("B")), Err(Violation::PermissionDenied));
        log.submit(&new, cert("B")).unwrap();
        log.submit(&new, change("A", a, a, CertificateStatus::Revoked))
            .unwrap();
        // Back to an earlier key: no.
        assert_eq!(
            log.submit(&op, rotate(&cb)),
            Err(Violation::InvalidArgument)
        );
    }

    #[test]
    fn violations() {
        let mut log = Log::new();
        let cb = certifier(1);
        let other = certifier(2);
        assert_eq!(log.submit(&cb, cert("A")), Err(Violation::PermissionDenied));
        // Only the operator registers.
        let forged = statement::Body::CertifierRegistered(CertifierRegistered {
            vkey: cb.verifier_key().to_string(),
            schemes: alloc::vec!["EUCC".into()],
            registered_at: 1,
        });
        assert_eq!(log.submit(&cb, forged), Err(Violation::PermissionDenied));
        log.register(&cb, &["EUCC"]).unwrap();
        assert_eq!(log.register(&cb, &["EUCC"]), Err(Violation::AlreadyExists));
        log.register(&other, &["Matter"]).unwrap();
        assert_eq!(
            log.submit(&other, cert("B")),
            Err(Violation::PermissionDenied)
        );
        let issued = log.submit(&cb, cert("A")).unwrap();
        assert_eq!(log.submit(&cb, cert("A")), Err(Violation::AlreadyExists));
        assert_eq!(
            log.submit(&cb, change("Z", 0, 0, CertificateStatus::Revoked)),
            Err(Violation::NotFound)
        );
        assert_eq!(
            log.submit(
                &other,
                change("A", issued, issued, CertificateStatus::Revoked)
            ),
            Err(Violation::PermissionDenied)
        );
        // A key with the certifier's name but another key is not the certifier.
        let impostor = SigningKey::from_seed("cb1.example", KeyType::Ed25519, &[99; 32]).unwrap();
        assert_eq!(
            log.submit(&impostor, cert("C")),
            Err(Violation::PermissionDenied)
        );
        let op = log.operator.clone();
        log.submit(
            &op,
            statement::Body::CertifierRetired(CertifierRetired {
                name: "cb1.example".into(),
                reason: "r".into(),
                retired_at: 2,
                compromised_since: 0,
            }),
        )
        .unwrap();
        assert_eq!(log.submit(&cb, cert("D")), Err(Violation::PermissionDenied));
        assert_eq!(log.register(&cb, &["EUCC"]), Err(Violation::AlreadyExists));
    }

    #[test]
    fn keys_met_often_get_tables_up_to_a_bound() {
        let mut cache = KeyCache::default();
        for n in 0..=KeyCache::MAX_TABLES as u8 {
            let cb = certifier(n);
            let vkey = cb.verifier_key().to_string();
            for uses in 1..=KeyCache::TABLE_AFTER {
                let key = cache.get(vkey.clone()).unwrap();
                let expected =
                    uses == KeyCache::TABLE_AFTER && usize::from(n) < KeyCache::MAX_TABLES;
                assert_eq!(key.is_precomputed(), expected, "key {n}, use {uses}");
            }
            let key = cache.get(vkey).unwrap();
            let signature = cb.sign_bytes(b"a statement");
            assert!(key.verify_bytes(b"a statement", &signature));
            assert!(!key.verify_bytes(b"another statement", &signature));
            assert!(
                !certifier(n + 1)
                    .verifier_key()
                    .verify_bytes(b"a statement", &signature)
            );
        }
    }
}

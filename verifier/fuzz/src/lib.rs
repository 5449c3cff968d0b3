//! Fixed keys, clock and log state shared by the fuzz targets and by the test that writes their
//! seeds (`log/tests/fuzz_seeds.rs` includes this file), so that seeds signed with these
//! keys get past the signature checks of the targets.
//!
//! The log of the fixtures: a certifier registered (entry 0), a second one registered (1) and
//! retired (2), a certificate issued (3) and suspended (4), then a map head of the status map (5),
//! which holds the certificate's status record and both certifiers' records.
//!
//! Its continuation, [`compromised_log`], a second batch: the certifier's key rotated (6), a
//! second certificate issued with the new key (7), the certifier retired as compromised since
//! after the first map head (8), so from the second batch on (index 6), and a map head (9).

use std::sync::OnceLock;

use certlog_log::rules::{MemoryState, check_entry};
use certlog_verifier::bundle::TrustedTree;
use certlog_verifier::certificate::{certifier_key, certifier_record_hash, status_record_hash};
use certlog_verifier::entry::{encode_entry, sign_statement};
use certlog_verifier::merkle::{CompactRange, Hash, leaf_hash};
use certlog_verifier::proto::{
    Certificate, CertificateStatus, CertifierKeyRotated, CertifierRegistered, CertifierRetired,
    Entry, MapHead, Product, StatusChanged, entry, statement,
};
use certlog_verifier::status_map::{MapUpdate, MemoryMap};
use certlog_verifier::{KeyType, SigningKey, VerifierKey};
use prost::Message as _;

/// The log's name, the origin of its checkpoints.
pub const LOG: &str = "fuzz.example/log";
/// The operator, who signs the registry.
pub const OPERATOR: &str = "fuzz.example/operator";
/// The registered certifier.
pub const CERTIFIER: &str = "cb.fuzz.example";
/// A certifier registered, then retired.
pub const RETIRED: &str = "retired.fuzz.example";
/// The witnesses (cosignature keys).
pub const WITNESSES: [&str; 2] = ["w1.fuzz.example", "w2.fuzz.example"];
/// The scheme the certifiers may publish under.
pub const SCHEME: &str = "EUCC";
/// The certificate of the log.
pub const CERTIFICATE_ID: &str = "FUZZ-1";
/// The certificate issued in [`compromised_log`], after its certifier's key was compromised.
pub const COMPROMISED_ID: &str = "FUZZ-2";
/// The verifiers' clock: within the certificate's validity.
pub const NOW: i64 = 1_800_000_000;
/// The SHA-256 of the firmware the certificate lists.
pub const FIRMWARE: [u8; 32] = [0x5a; 32];

/// The keys of the fixtures, signing and verifying.
pub struct Keys {
    /// The log's key.
    pub log: SigningKey,
    /// The operator's key.
    pub operator: SigningKey,
    /// The certifier's key.
    pub certifier: SigningKey,
    /// The certifier's key after its rotation in [`compromised_log`].
    pub rotated: SigningKey,
    /// The retired certifier's key.
    pub retired: SigningKey,
    /// The witnesses' keys.
    pub witnesses: [SigningKey; 2],
    /// The log's verifier key.
    pub log_vkey: VerifierKey,
    /// The operator's verifier key.
    pub operator_vkey: VerifierKey,
    /// The witnesses' verifier keys.
    pub witness_vkeys: Vec<VerifierKey>,
}

fn key(name: &str, key_type: KeyType, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, key_type, &[seed; 32]).expect("a valid key name")
}

/// The keys, made once.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let log = key(LOG, KeyType::Ed25519, 1);
        let operator = key(OPERATOR, KeyType::Ed25519, 2);
        let witnesses = [
            key(WITNESSES[0], KeyType::CosignatureV1, 4),
            key(WITNESSES[1], KeyType::CosignatureV1, 5),
        ];
        Keys {
            log_vkey: log.verifier_key(),
            operator_vkey: operator.verifier_key(),
            witness_vkeys: witnesses.iter().map(SigningKey::verifier_key).collect(),
            log,
            operator,
            certifier: key(CERTIFIER, KeyType::Ed25519, 3),
            rotated: key(CERTIFIER, KeyType::Ed25519, 7),
            retired: key(RETIRED, KeyType::Ed25519, 6),
            witnesses,
        }
    })
}

/// The certificate the log issues.
pub fn certificate() -> Certificate {
    certificate_with_id(CERTIFICATE_ID)
}

fn certificate_with_id(id: &str) -> Certificate {
    Certificate {
        scheme: SCHEME.into(),
        certificate_id: id.into(),
        product: Some(Product {
            vendor: "Fuzz Devices".into(),
            name: "Fuzz Cam".into(),
            firmware_digests: vec![certlog_verifier::proto::Digest {
                alg: "sha256".into(),
                digest: FIRMWARE.to_vec(),
            }],
            ..Product::default()
        }),
        issued_at: NOW - 1_000_000,
        not_after: NOW + 1_000_000,
        ..Certificate::default()
    }
}

fn signed(key: &SigningKey, body: statement::Body) -> Vec<u8> {
    encode_entry(sign_statement(key, body).expect("an Ed25519 key"))
}

fn register(key: &SigningKey) -> statement::Body {
    statement::Body::CertifierRegistered(CertifierRegistered {
        vkey: key.verifier_key().to_string(),
        schemes: vec![SCHEME.into(), "Matter".into()],
        registered_at: NOW - 2_000_000,
    })
}

/// A map head entry.
pub fn map_head(root: &Hash, tree_size: u64, timestamp: i64) -> Vec<u8> {
    Entry {
        body: Some(entry::Body::MapHead(MapHead {
            root: root.0.to_vec(),
            tree_size,
            timestamp,
        })),
    }
    .encode_to_vec()
}

/// The status map of a state: the certificates' status records and the certifiers' records.
pub fn status_map(state: &MemoryState) -> MemoryMap {
    let empty = MemoryMap::default();
    let mut update = MapUpdate::new(&empty);
    for (key, record) in &state.statuses {
        update.set(*key, status_record_hash(record));
    }
    for (name, record) in &state.certifiers {
        update.set(certifier_key(name), certifier_record_hash(record));
    }
    let Ok((_, changes)) = update.finish();
    let mut map = MemoryMap::default();
    map.apply(changes);
    map
}

/// The fixtures' log: its entries, and the state after each statement.
pub struct Log {
    /// The entries, in log order.
    pub entries: Vec<Vec<u8>>,
    /// The state after every entry.
    pub state: MemoryState,
    /// The status map of the last map head.
    pub map: MemoryMap,
}

impl Log {
    /// Appends a batch: its statements, each checked by the log's rules, then the map head of
    /// the status map after them, at `time`.
    fn batch(&mut self, statements: Vec<Vec<u8>>, time: i64) {
        let operator = &keys().operator_vkey;
        for bytes in statements {
            let index = self.entries.len() as u64;
            let change = check_entry(&bytes, index, operator, &self.state)
                .expect("the fixtures follow the rules");
            self.state.record(change);
            self.entries.push(bytes);
        }
        self.map = status_map(&self.state);
        let index = self.entries.len() as u64;
        self.entries.push(map_head(&self.map.root(), index, time));
        self.state.record_map_head(index, time);
    }
}

/// The first batch of the log (see the module documentation).
fn first_batch() -> Vec<Vec<u8>> {
    let k = keys();
    vec![
        signed(&k.operator, register(&k.certifier)),
        signed(&k.operator, register(&k.retired)),
        signed(
            &k.operator,
            statement::Body::CertifierRetired(CertifierRetired {
                name: RETIRED.into(),
                reason: "closed".into(),
                retired_at: NOW - 1_500_000,
                compromised_since: 0,
            }),
        ),
        signed(
            &k.certifier,
            statement::Body::CertificateIssued(certificate()),
        ),
        signed(
            &k.certifier,
            statement::Body::StatusChanged(StatusChanged {
                scheme: SCHEME.into(),
                certificate_id: CERTIFICATE_ID.into(),
                issued_index: 3,
                previous_index: 3,
                status: CertificateStatus::Suspended.into(),
                reason: "under investigation".into(),
                effective_at: NOW - 500_000,
            }),
        ),
    ]
}

/// The time of the first map head.
const FIRST_HEAD: i64 = NOW - 60;

/// The log, made once (see the module documentation).
pub fn log() -> &'static Log {
    static LOG_ENTRIES: OnceLock<Log> = OnceLock::new();
    LOG_ENTRIES.get_or_init(|| {
        let mut log = Log {
            entries: Vec::new(),
            state: MemoryState::default(),
            map: MemoryMap::default(),
        };
        log.batch(first_batch(), FIRST_HEAD);
        log
    })
}

/// The log's second batch: the certifier given a new key (entry 6), a certificate issued with
/// it (7), the certifier retired as compromised since after the first map head (8), so from the
/// second batch on: the certificate of entry 7 stands revoked, the first one (signed with the
/// earlier key) keeps its status.
pub fn second_batch() -> Vec<Vec<u8>> {
    let k = keys();
    vec![
        signed(
            &k.operator,
            statement::Body::CertifierKeyRotated(CertifierKeyRotated {
                vkey: k.rotated.verifier_key().to_string(),
                reason: "yearly rotation".into(),
                rotated_at: FIRST_HEAD + 5,
            }),
        ),
        signed(
            &k.rotated,
            statement::Body::CertificateIssued(certificate_with_id(COMPROMISED_ID)),
        ),
        signed(
            &k.operator,
            statement::Body::CertifierRetired(CertifierRetired {
                name: CERTIFIER.into(),
                reason: "new key stolen".into(),
                retired_at: FIRST_HEAD + 20,
                compromised_since: FIRST_HEAD + 1,
            }),
        ),
    ]
}

/// The log with its second batch (see [`second_batch`]), made once: the same first six
/// entries, so it extends [`log`] and [`trusted`].
pub fn compromised_log() -> &'static Log {
    static LOG_ENTRIES: OnceLock<Log> = OnceLock::new();
    LOG_ENTRIES.get_or_init(|| {
        let base = log();
        let mut log = Log {
            entries: base.entries.clone(),
            state: base.state.clone(),
            map: base.map.clone(),
        };
        log.batch(second_batch(), NOW - 30);
        log
    })
}

/// The tree a device trusts in the bundle target: the log's first three entries.
pub fn trusted() -> TrustedTree {
    let mut range = CompactRange::new();
    for entry in &log().entries[..3] {
        range.append(leaf_hash(entry), |_, _| {});
    }
    TrustedTree {
        size: range.size(),
        root: range.root(),
    }
}

//! Fixed keys, clock and log state shared by the fuzz targets and by the test that writes their
//! seeds (`verifier/tests/fuzz_seeds.rs` includes this file), so that seeds signed with these
//! keys get past the signature checks of the targets.
//!
//! The log of the fixtures: a certifier registered (entry 0), a second one registered (1) and
//! retired (2), a certificate issued (3) and suspended (4), then a map head of the statuses (5).

use std::sync::OnceLock;

use certlog_verifier::bundle::TrustedTree;
use certlog_verifier::certificate::status_record_hash;
use certlog_verifier::entry::{encode_entry, sign_statement};
use certlog_verifier::merkle::{CompactRange, Hash, leaf_hash};
use certlog_verifier::proto::{
    Certificate, CertificateStatus, CertifierRegistered, CertifierRetired, Entry, MapHead, Product,
    StatusChanged, entry, statement,
};
use certlog_verifier::rules::{MemoryState, check_entry};
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
            retired: key(RETIRED, KeyType::Ed25519, 6),
            witnesses,
        }
    })
}

/// The certificate the log issues.
pub fn certificate() -> Certificate {
    Certificate {
        scheme: SCHEME.into(),
        certificate_id: CERTIFICATE_ID.into(),
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

/// The status map of a state.
pub fn status_map(state: &MemoryState) -> MemoryMap {
    let empty = MemoryMap::default();
    let mut update = MapUpdate::new(&empty);
    for (key, record) in &state.statuses {
        update.set(*key, status_record_hash(record));
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

/// The log, made once (see the module documentation).
pub fn log() -> &'static Log {
    static LOG_ENTRIES: OnceLock<Log> = OnceLock::new();
    LOG_ENTRIES.get_or_init(|| {
        let k = keys();
        let mut entries = vec![
            signed(&k.operator, register(&k.certifier)),
            signed(&k.operator, register(&k.retired)),
            signed(
                &k.operator,
                statement::Body::CertifierRetired(CertifierRetired {
                    name: RETIRED.into(),
                    reason: "closed".into(),
                    retired_at: NOW - 1_500_000,
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
        ];
        let mut state = MemoryState::default();
        for (index, bytes) in entries.iter().enumerate() {
            let change = check_entry(bytes, index as u64, &k.operator_vkey, &state)
                .expect("the fixtures follow the rules");
            state.record(change);
        }
        let map = status_map(&state);
        entries.push(map_head(&map.root(), entries.len() as u64, NOW - 60));
        Log {
            entries,
            state,
            map,
        }
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

//! Storage of the log (DESIGN "Storage and the write path"): entries by index, tree hashes in
//! tile layout, leaf hash -> index (dedup), the certifier registry, certificate status records
//! in key order (the keys and values of the status map, whose nodes are not stored: see
//! [`crate::status_map`]), checkpoints by size, and the tree size. Every integration batch is
//! written with [`Storage::commit`], all or nothing, and is durable when it returns.
//!
//! The embedded stores share one key layout ([`kv`]): fjall (the default, [`Fjall`]), redb
//! ([`Redb`]) and sled ([`Sled`]); [`MemoryStorage`] keeps everything in memory for tests. All
//! pass the same suite ([`tests`]), as any new backend must.

#[cfg(test)]
pub(crate) mod failing;
mod fjall;
pub mod kv;
mod memory;
mod redb;
mod sled;

pub use self::fjall::Fjall;
pub use self::kv::KvStorage;
pub use self::memory::MemoryStorage;
pub use self::redb::Redb;
pub use self::sled::Sled;

use std::ops::Range;

use certlog_verifier::Hash;
use certlog_verifier::proto::{CertifierRecord, StatusRecord};

/// The embedded store of a data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// fjall, an LSM tree, in `DIR/fjall/`: memory bounded by its cache and memtables.
    Fjall,
    /// redb, a B-tree, in `DIR/log.redb`: memory bounded by its cache.
    Redb,
    /// sled 0.34, in `DIR/db/`: its memory grows with the log.
    Sled,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 3] = [Backend::Fjall, Backend::Redb, Backend::Sled];

    /// Where the backend keeps a log in the data directory `dir`.
    pub fn path(self, dir: &std::path::Path) -> std::path::PathBuf {
        match self {
            Backend::Fjall => dir.join("fjall"),
            Backend::Redb => dir.join("log.redb"),
            Backend::Sled => dir.join("db"),
        }
    }

    /// Refuses a directory that holds another backend's log.
    pub fn refuse_others(self, dir: &std::path::Path) -> Result<()> {
        for other in Backend::ALL.into_iter().filter(|b| *b != self) {
            if other.path(dir).exists() {
                return Err(StorageError::Backend(format!(
                    "{} holds a {other:?} database: start with --storage {}",
                    dir.display(),
                    format!("{other:?}").to_lowercase()
                )));
            }
        }
        Ok(())
    }

    /// Opens (or creates) the log in `dir`; refuses a directory that holds another backend's.
    pub fn open(self, dir: &std::path::Path) -> Result<std::sync::Arc<dyn Storage>> {
        self.refuse_others(dir)?;
        let path = self.path(dir);
        Ok(match self {
            Backend::Fjall => std::sync::Arc::new(KvStorage(Fjall::open(&path)?)),
            Backend::Redb => std::sync::Arc::new(KvStorage(Redb::open(&path)?)),
            Backend::Sled => std::sync::Arc::new(KvStorage(Sled::open(&path)?)),
        })
    }
}

/// Why storage failed. Never the client's fault: the server reports it as unavailable.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database failed (I/O error, disk full...).
    #[error("storage: {0}")]
    Backend(String),
    /// Stored bytes do not decode: the data directory is damaged.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
}

/// The result of storage operations.
pub type Result<T> = std::result::Result<T, StorageError>;

/// A position of the status map's top, as stored: its kind and its hash.
pub type MapCell = [u8; 33];

/// Status records as stored: each key with its record's protobuf encoding.
pub type StatusEncodings = Vec<(Hash, Vec<u8>)>;

/// Everything one integration batch writes.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The tree size after the batch.
    pub size: u64,
    /// New entries: index, bytes, leaf hash.
    pub entries: Vec<(u64, Vec<u8>, Hash)>,
    /// Hash tiles written: level, index and the tile's hashes so far (full or partial).
    pub tiles: Vec<(u8, u64, Vec<u8>)>,
    /// Certifier records changed, by key name.
    pub certifiers: Vec<(String, CertifierRecord)>,
    /// Status records changed, with the index of the entry that changed each.
    pub statuses: Vec<(Hash, StatusRecord, u64)>,
    /// Positions of the deepest level of the status map's top that changed (see
    /// [`crate::status_map`]): the position and what stands there.
    pub map_cells: Vec<(u32, MapCell)>,
    /// Firmware SHA-256 digests listed by newly issued certificates: digest, the index of the
    /// issuing entry, the certificate's status key.
    pub firmware: Vec<([u8; 32], u64, Hash)>,
    /// The index at which the batch began and its map head's time, when it ends with one.
    pub map_head: Option<(u64, i64)>,
    /// The signed checkpoint of the new size.
    pub checkpoint: String,
}

/// Whether a status record written at `index` is a status change its certifier signed (not
/// the issuance, not the operator's change, not a record a compromise restored).
pub fn is_certifier_change(record: &StatusRecord, index: u64) -> bool {
    index != record.issued_index && index == record.last_change_index && !record.by_operator
}

/// The durable state of a log.
pub trait Storage: Send + Sync + 'static {
    /// The tree size, 0 for a new log.
    fn size(&self) -> Result<u64>;

    /// The entry at `index`.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>>;

    /// The entries `start..end` that exist, in order.
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;

    /// The index of the entry with this leaf hash.
    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>>;

    /// The hashes of tile `level`/`index` as last written (full, or partial at the latest size).
    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>>;

    /// A certifier's record, by key name.
    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>>;

    /// A certificate's status record, by status-map key.
    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>>;

    /// The records of the status map with `first <= key <= last` as stored, in key order, at
    /// most `limit`: certificates' status records and certifiers' records (under
    /// [`certlog_verifier::certificate::certifier_key`]), each as its protobuf encoding.
    fn status_encodings(&self, first: &Hash, last: &Hash, limit: usize) -> Result<StatusEncodings>;

    /// Where the first batch whose map head's time is at or after `time` began, if one did.
    fn batch_start_at(&self, time: i64) -> Result<Option<u64>>;

    /// The status-map keys of the certificates whose status `certifier` itself changed at an
    /// index at or after `from`, each once.
    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>>;

    /// The indexes of the entries that changed a certificate's status after the one that
    /// issued it (which its record holds), in order.
    fn status_changes(&self, key: &Hash) -> Result<Vec<u64>>;

    /// The signed checkpoint of tree size `size`, if one was signed.
    fn checkpoint(&self, size: u64) -> Result<Option<String>>;

    /// The status key of the first certificate logged that lists a firmware digest.
    fn firmware(&self, sha256: &[u8; 32]) -> Result<Option<Hash>>;

    /// Writes a batch atomically and durably: after a crash either all of it is there or none.
    fn commit(&self, batch: &Batch) -> Result<()>;

    /// The stored positions of the deepest level of the status map's top within `positions`,
    /// in order.
    fn map_cells(&self, positions: Range<u32>) -> Result<Vec<(u32, MapCell)>>;

    /// Stores positions of the status map's top outside a batch (when the top was rebuilt);
    /// durable when it returns.
    fn put_map_cells(&self, cells: &[(u32, MapCell)]) -> Result<()>;

    /// Writes to the backend's files what it keeps in memory and would otherwise replay from
    /// its journal at the next open, so that the next start is quick. The log calls it once it
    /// writes no more. Every commit is durable without it.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// The suite every storage backend must pass.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use certlog_verifier::certificate::{
        certifier_key, certifier_record_hash, encoded_status_record_hash, status_record_hash,
    };
    use prost::Message as _;

    const EMPTY_KEY: Hash = Hash([0; 32]);
    const FULL_KEY: Hash = Hash([0xff; 32]);
    use certlog_verifier::merkle::leaf_hash;
    use certlog_verifier::proto::CertificateStatus;

    fn batch(start: u64, n: u64) -> Batch {
        let entries = (start..start + n)
            .map(|i| {
                let bytes = format!("entry {i}").into_bytes();
                let hash = leaf_hash(&bytes);
                (i, bytes, hash)
            })
            .collect();
        Batch {
            size: start + n,
            entries,
            tiles: vec![(0, 0, vec![7; 32 * (start + n) as usize])],
            certifiers: vec![(
                "cb.example".into(),
                CertifierRecord {
                    vkey: "v".into(),
                    schemes: vec!["EUCC".into()],
                    registered_index: start,
                    key_index: start,
                    ..CertifierRecord::default()
                },
            )],
            statuses: vec![(
                Hash([start as u8; 32]),
                StatusRecord {
                    status: CertificateStatus::Active.into(),
                    issued_index: start,
                    ..Default::default()
                },
                start,
            )],
            checkpoint: format!("checkpoint {}\n", start + n),
            firmware: vec![],
            map_cells: vec![],
            map_head: None,
        }
    }

    /// Runs the suite on a fresh, empty backend.
    pub(crate) fn suite(store: &dyn Storage) {
        assert_eq!(store.size().unwrap(), 0);
        assert_eq!(store.entry(0).unwrap(), None);
        assert_eq!(store.checkpoint(0).unwrap(), None);

        store.commit(&batch(0, 3)).unwrap();
        assert_eq!(store.size().unwrap(), 3);
        assert_eq!(store.entry(2).unwrap(), Some(b"entry 2".to_vec()));
        assert_eq!(store.entry(3).unwrap(), None);
        assert_eq!(
            store.entries(1, 10).unwrap(),
            vec![b"entry 1".to_vec(), b"entry 2".to_vec()]
        );
        assert_eq!(store.leaf_index(&leaf_hash(b"entry 1")).unwrap(), Some(1));
        assert_eq!(store.leaf_index(&leaf_hash(b"nothing")).unwrap(), None);
        assert_eq!(store.tile(0, 0).unwrap().map(|t| t.len()), Some(96));
        assert_eq!(store.tile(1, 0).unwrap(), None);
        assert_eq!(
            store
                .certifier("cb.example")
                .unwrap()
                .unwrap()
                .registered_index,
            0
        );
        assert_eq!(store.certifier("other").unwrap(), None);
        assert_eq!(
            store.checkpoint(3).unwrap().as_deref(),
            Some("checkpoint 3\n")
        );

        // A second batch extends the first; the partial tile is replaced by a wider one.
        store.commit(&batch(3, 2)).unwrap();
        assert_eq!(store.size().unwrap(), 5);
        assert_eq!(store.tile(0, 0).unwrap().map(|t| t.len()), Some(160));
        assert_eq!(store.entries(0, 5).unwrap().len(), 5);
        assert_eq!(
            store
                .certifier("cb.example")
                .unwrap()
                .unwrap()
                .registered_index,
            3
        );
        assert_eq!(
            store.status(&Hash([3; 32])).unwrap().unwrap().issued_index,
            3
        );
        assert_eq!(
            store.status_changes(&Hash([3; 32])).unwrap(),
            Vec::<u64>::new()
        );
        assert_eq!(
            store.status_changes(&Hash([9; 32])).unwrap(),
            Vec::<u64>::new()
        );
        assert_eq!(
            store.checkpoint(3).unwrap().as_deref(),
            Some("checkpoint 3\n")
        );
        assert_eq!(
            store.checkpoint(5).unwrap().as_deref(),
            Some("checkpoint 5\n")
        );

        // Status records in key order, by range.
        let mut b = batch(5, 0);
        b.statuses = [9u8, 1, 200, 7]
            .iter()
            .map(|k| (Hash([*k; 32]), StatusRecord::default(), 5))
            .collect();
        let changed = StatusRecord {
            issued_index: 3,
            last_change_index: 5,
            ..StatusRecord::default()
        };
        b.statuses.push((Hash([3; 32]), changed, 5));
        store.commit(&b).unwrap();
        // The status map's records, certificates' and certifiers', in key order by range.
        let certifier = certifier_key("cb.example");
        let keys = |first: u8, last: u8, limit| -> Vec<u8> {
            store
                .status_encodings(&Hash([first; 32]), &Hash([last; 32]), limit)
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != certifier)
                .map(|(k, _)| k.0[0])
                .collect()
        };
        assert_eq!(keys(0, 255, usize::MAX), vec![0, 1, 3, 7, 9, 200]);
        assert_eq!(keys(3, 9, usize::MAX), vec![3, 7, 9]);
        assert_eq!(keys(3, 9, 2), vec![3, 7]);
        assert_eq!(keys(10, 199, usize::MAX), Vec::<u8>::new());
        for (key, bytes) in store
            .status_encodings(&EMPTY_KEY, &FULL_KEY, usize::MAX)
            .unwrap()
        {
            if key == certifier {
                let record = CertifierRecord::decode(&bytes[..]).unwrap();
                assert_eq!(
                    Some(&record),
                    store.certifier("cb.example").unwrap().as_ref()
                );
                assert_eq!(
                    certifier_record_hash(&record),
                    encoded_status_record_hash(&bytes)
                );
            } else {
                let record = StatusRecord::decode(&bytes[..]).unwrap();
                assert_eq!(Some(&record), store.status(&key).unwrap().as_ref());
                assert_eq!(
                    status_record_hash(&record),
                    encoded_status_record_hash(&bytes)
                );
            }
        }
        assert_eq!(
            store
                .status_encodings(&FULL_KEY, &EMPTY_KEY, usize::MAX)
                .unwrap(),
            vec![]
        );

        // The status changes a certifier signed, by index; not the operator's, not the
        // issuances.
        let mut b = batch(20, 0);
        let change = |key: u8, index, by_operator| {
            let record = StatusRecord {
                certifier: "cb.example".into(),
                issued_index: 1,
                last_change_index: index,
                by_operator,
                ..StatusRecord::default()
            };
            (Hash([key; 32]), record, index)
        };
        b.statuses = vec![
            change(140, 20, false),
            change(141, 21, true),
            change(142, 22, false),
        ];
        b.statuses.push((
            Hash([143; 32]),
            StatusRecord {
                certifier: "cb.example".into(),
                issued_index: 23,
                last_change_index: 23,
                ..StatusRecord::default()
            },
            23,
        ));
        store.commit(&b).unwrap();
        assert_eq!(
            store.changed_by("cb.example", 0).unwrap(),
            vec![Hash([140; 32]), Hash([142; 32])]
        );
        assert_eq!(
            store.changed_by("cb.example", 21).unwrap(),
            vec![Hash([142; 32])]
        );
        assert_eq!(store.changed_by("cb", 0).unwrap(), vec![]);
        assert_eq!(store.changed_by("cb.example.x", 0).unwrap(), vec![]);

        // Where the first batch of a map head time at or after a time began.
        for (start, time) in [(30, 1_000), (40, 1_000), (50, 2_000)] {
            let mut b = batch(start, 0);
            b.map_head = Some((start, time));
            store.commit(&b).unwrap();
        }
        assert_eq!(store.batch_start_at(0).unwrap(), Some(30));
        assert_eq!(store.batch_start_at(1_000).unwrap(), Some(30));
        assert_eq!(store.batch_start_at(1_001).unwrap(), Some(50));
        assert_eq!(store.batch_start_at(2_001).unwrap(), None);

        // The issuance is in the record; later changes are listed apart.
        assert_eq!(store.status_changes(&Hash([3; 32])).unwrap(), vec![5]);

        // The firmware index.
        let mut b = batch(5, 0);
        b.firmware = vec![([7; 32], 9, Hash([9; 32])), ([7; 32], 8, Hash([8; 32]))];
        store.commit(&b).unwrap();
        assert_eq!(store.firmware(&[7; 32]).unwrap(), Some(Hash([8; 32])));
        assert_eq!(store.firmware(&[6; 32]).unwrap(), None);

        // Positions of the status map's top, in a batch and outside.
        assert_eq!(store.map_cells(0..u32::MAX).unwrap(), vec![]);
        let mut b = batch(5, 0);
        b.map_cells = vec![(7, [1; 33]), (1 << 20, [2; 33])];
        store.commit(&b).unwrap();
        store.put_map_cells(&[(7, [3; 33]), (0, [4; 33])]).unwrap();
        assert_eq!(
            store.map_cells(0..u32::MAX).unwrap(),
            vec![(0, [4; 33]), (7, [3; 33]), (1 << 20, [2; 33])]
        );
        assert_eq!(store.map_cells(1..1 << 20).unwrap(), vec![(7, [3; 33])]);
        assert_eq!(store.map_cells(7..7).unwrap(), vec![]);

        // Several changes of one certificate come back in index order.
        let mut b = batch(5, 1);
        b.statuses = (0..300u64)
            .map(|i| {
                let record = StatusRecord {
                    issued_index: 701,
                    ..StatusRecord::default()
                };
                (Hash([42; 32]), record, 1000 - i)
            })
            .collect();
        store.commit(&b).unwrap();
        let indexes = store.status_changes(&Hash([42; 32])).unwrap();
        assert_eq!(indexes.len(), 299);
        assert_eq!(indexes.first(), Some(&702));
        assert!(indexes.windows(2).all(|w| w[0] < w[1]));

        // A certificate issued and changed twice in one batch, as the sequencer writes it: the
        // record of its last change stands, and its changes are those up to that change.
        let mut b = batch(5, 1);
        b.statuses = (10..13u64)
            .map(|index| {
                let record = StatusRecord {
                    issued_index: 10,
                    last_change_index: index,
                    ..StatusRecord::default()
                };
                (Hash([143; 32]), record, index)
            })
            .collect();
        store.commit(&b).unwrap();
        let record = store.status(&Hash([143; 32])).unwrap().unwrap();
        assert_eq!((record.issued_index, record.last_change_index), (10, 12));
        assert_eq!(
            store.status_changes(&Hash([143; 32])).unwrap(),
            vec![11, 12]
        );

        // A leaf hash is found among entries whose hashes begin as it does (here the
        // entry before it, filed under a hash that shares its first 16 bytes).
        let mut b = batch(6, 2);
        let wanted = b.entries[1].2;
        let mut decoy = wanted;
        decoy.0[16..].fill(0);
        b.entries[0].2 = decoy;
        store.commit(&b).unwrap();
        assert_eq!(store.leaf_index(&wanted).unwrap(), Some(7));
        assert_eq!(store.leaf_index(&leaf_hash(b"entry 2")).unwrap(), Some(2));
    }

    #[test]
    fn every_embedded_backend_passes_the_suite_and_keeps_its_commits() {
        for backend in Backend::ALL {
            let dir = tempfile::tempdir().unwrap();
            suite(&*backend.open(dir.path()).unwrap());

            // Commits before and after a flush are kept.
            let dir = tempfile::tempdir().unwrap();
            let store = backend.open(dir.path()).unwrap();
            store.commit(&batch(0, 2)).unwrap();
            store.flush().unwrap();
            store.commit(&batch(2, 1)).unwrap();
            drop(store);
            // fjall lets go of its lock file once its background threads have ended, a little
            // after the database is dropped.
            let store = (0..200)
                .find_map(|_| match backend.open(dir.path()) {
                    Ok(store) => Some(store),
                    Err(e) if e.to_string().contains("locked") => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        None
                    }
                    Err(e) => panic!("{backend:?}: {e}"),
                })
                .unwrap();
            assert_eq!(store.size().unwrap(), 3, "{backend:?}");
            assert_eq!(store.entry(1).unwrap(), Some(b"entry 1".to_vec()));
            assert_eq!(store.entry(2).unwrap(), Some(b"entry 2".to_vec()));
        }
    }
}

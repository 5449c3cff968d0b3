//! Storage of the log (DESIGN "Storage and the write path"): entries by index, tree hashes in
//! tile layout, leaf hash -> index (dedup), the certifier registry, certificate status records,
//! checkpoints by size, and the tree size. Every integration batch is written with
//! [`Storage::commit`], all or nothing, and is durable when it returns.
//!
//! The embedded stores share one key layout ([`kv`]): redb (the default, [`Redb`]) and sled
//! ([`Sled`]); [`MemoryStorage`] keeps everything in memory for tests. All pass the same suite
//! ([`tests`]), as any new backend must.

pub mod kv;
mod memory;
mod redb;
mod sled;

pub use self::kv::KvStorage;
pub use self::memory::MemoryStorage;
pub use self::redb::Redb;
pub use self::sled::Sled;

use certlog_verifier::Hash;
use certlog_verifier::proto::{CertifierRecord, StatusRecord};
use certlog_verifier::status_map::{MapNode, NodePath};

/// The embedded store of a data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// redb, in `DIR/log.redb`: memory bounded by its cache.
    Redb,
    /// sled 0.34, in `DIR/db/`: its memory grows with the log.
    Sled,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 2] = [Backend::Redb, Backend::Sled];

    /// Where the backend keeps a log in the data directory `dir`.
    pub fn path(self, dir: &std::path::Path) -> std::path::PathBuf {
        match self {
            Backend::Redb => dir.join("log.redb"),
            Backend::Sled => dir.join("db"),
        }
    }

    /// Opens (or creates) the log in `dir`; refuses a directory that holds another backend's.
    pub fn open(self, dir: &std::path::Path) -> Result<std::sync::Arc<dyn Storage>> {
        for other in Backend::ALL.into_iter().filter(|b| *b != self) {
            if other.path(dir).exists() {
                return Err(StorageError::Backend(format!(
                    "{} holds a {other:?} database: start with --storage {}",
                    dir.display(),
                    format!("{other:?}").to_lowercase()
                )));
            }
        }
        let path = self.path(dir);
        Ok(match self {
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
    /// Status-map nodes written.
    pub map_nodes: Vec<(NodePath, MapNode)>,
    /// Firmware SHA-256 digests listed by newly issued certificates: digest, the index of the
    /// issuing entry, the certificate's status key.
    pub firmware: Vec<([u8; 32], u64, Hash)>,
    /// The signed checkpoint of the new size.
    pub checkpoint: String,
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

    /// The indexes of a certificate's entries, in order.
    fn certificate_entries(&self, key: &Hash) -> Result<Vec<u64>>;

    /// The signed checkpoint of tree size `size`, if one was signed.
    fn checkpoint(&self, size: u64) -> Result<Option<String>>;

    /// The status-map node at `path`.
    fn map_node(&self, path: &NodePath) -> Result<Option<MapNode>>;

    /// The status key of the first certificate logged that lists a firmware digest.
    fn firmware(&self, sha256: &[u8; 32]) -> Result<Option<Hash>>;

    /// Writes a batch atomically and durably: after a crash either all of it is there or none.
    fn commit(&self, batch: &Batch) -> Result<()>;
}

/// The suite every storage backend must pass.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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
                    retired_index: None,
                    key_id: 0,
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
            map_nodes: vec![],
            firmware: vec![],
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
        assert_eq!(store.certificate_entries(&Hash([3; 32])).unwrap(), vec![3]);
        assert_eq!(
            store.certificate_entries(&Hash([9; 32])).unwrap(),
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

        // Map nodes and the firmware index.
        let leaf = MapNode::Leaf {
            key: Hash([1; 32]),
            value: Hash([2; 32]),
        };
        let mut b = batch(5, 0);
        b.map_nodes = vec![(NodePath::ROOT, leaf)];
        b.firmware = vec![([7; 32], 9, Hash([9; 32])), ([7; 32], 8, Hash([8; 32]))];
        store.commit(&b).unwrap();
        assert_eq!(store.map_node(&NodePath::ROOT).unwrap(), Some(leaf));
        assert_eq!(store.map_node(&NodePath::ROOT.child(true)).unwrap(), None);
        assert_eq!(store.firmware(&[7; 32]).unwrap(), Some(Hash([8; 32])));
        assert_eq!(store.firmware(&[6; 32]).unwrap(), None);
        let internal = MapNode::Internal {
            hash: Hash([3; 32]),
        };
        let mut b = batch(5, 0);
        b.map_nodes = vec![(NodePath::ROOT, internal)];
        store.commit(&b).unwrap();
        assert_eq!(store.map_node(&NodePath::ROOT).unwrap(), Some(internal));

        // Several entries of one certificate come back in index order.
        let mut b = batch(5, 1);
        b.statuses = (0..300u64)
            .map(|i| (Hash([42; 32]), StatusRecord::default(), 1000 - i))
            .collect();
        store.commit(&b).unwrap();
        let indexes = store.certificate_entries(&Hash([42; 32])).unwrap();
        assert_eq!(indexes.len(), 300);
        assert!(indexes.windows(2).all(|w| w[0] < w[1]));
    }
}

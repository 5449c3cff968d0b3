//! The sled backend. One sled tree with a one-byte prefix per kind of record, so that a whole
//! integration batch is one atomic `apply_batch`, made durable by one `flush`.

use std::path::Path;

use certlog_verifier::Hash;
use certlog_verifier::proto::{CertifierRecord, StatusRecord};
use certlog_verifier::status_map::{MapNode, NodePath};
use prost::Message;

use super::{Batch, Result, Storage, StorageError};

const ENTRY: u8 = b'e';
const LEAF: u8 = b'l';
const TILE: u8 = b't';
const CERTIFIER: u8 = b'r';
const STATUS: u8 = b's';
const CERTIFICATE_ENTRY: u8 = b'x';
const CHECKPOINT: u8 = b'k';
const MAP_NODE: u8 = b'n';
const FIRMWARE: u8 = b'f';
const SIZE_KEY: &[u8] = b"msize";

/// sled's page cache: enough for the hot tiles and index pages; memory must not grow with the log.
const CACHE_BYTES: u64 = 64 << 20;

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn backend(e: sled::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

fn decode_u64(bytes: &[u8]) -> Result<u64> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StorageError::Corrupt(format!("{} bytes for a u64", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

fn decode<M: Message + Default>(what: &str, bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|e| StorageError::Corrupt(format!("{what}: {e}")))
}

/// A log stored in a sled database.
pub struct SledStorage {
    db: sled::Db,
}

impl SledStorage {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<SledStorage> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(backend)?;
        Ok(SledStorage { db })
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.db.size_on_disk().map_err(backend)
    }

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        self.db.get(key).map_err(backend)
    }
}

impl Storage for SledStorage {
    fn size(&self) -> Result<u64> {
        self.get(SIZE_KEY)?.map_or(Ok(0), |v| decode_u64(&v))
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get(&key(ENTRY, &[&index.to_be_bytes()]))?
            .map(|v| v.to_vec()))
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        if start >= end {
            return Ok(Vec::new());
        }
        self.db
            .range(key(ENTRY, &[&start.to_be_bytes()])..key(ENTRY, &[&end.to_be_bytes()]))
            .values()
            .map(|v| v.map(|v| v.to_vec()).map_err(backend))
            .collect()
    }

    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>> {
        self.get(&key(LEAF, &[leaf_hash.as_bytes()]))?
            .map(|v| decode_u64(&v))
            .transpose()
    }

    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get(&key(TILE, &[&[level], &index.to_be_bytes()]))?
            .map(|v| v.to_vec()))
    }

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>> {
        self.get(&key(CERTIFIER, &[name.as_bytes()]))?
            .map(|v| decode("certifier record", &v))
            .transpose()
    }

    fn status(&self, status_key: &Hash) -> Result<Option<StatusRecord>> {
        self.get(&key(STATUS, &[status_key.as_bytes()]))?
            .map(|v| decode("status record", &v))
            .transpose()
    }

    fn certificate_entries(&self, status_key: &Hash) -> Result<Vec<u64>> {
        let prefix = key(CERTIFICATE_ENTRY, &[status_key.as_bytes()]);
        self.db
            .scan_prefix(&prefix)
            .keys()
            .map(|k| decode_u64(&k.map_err(backend)?[prefix.len()..]))
            .collect()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<String>> {
        self.get(&key(CHECKPOINT, &[&size.to_be_bytes()]))?
            .map(|v| {
                String::from_utf8(v.to_vec())
                    .map_err(|_| StorageError::Corrupt("checkpoint is not UTF-8".into()))
            })
            .transpose()
    }

    fn map_node(&self, path: &NodePath) -> Result<Option<MapNode>> {
        self.get(&key(MAP_NODE, &[&path.to_bytes()]))?
            .map(|v| MapNode::from_bytes(&v).map_err(|e| StorageError::Corrupt(e.to_string())))
            .transpose()
    }

    fn firmware(&self, sha256: &[u8; 32]) -> Result<Option<Hash>> {
        let prefix = key(FIRMWARE, &[sha256]);
        match self.db.scan_prefix(&prefix).values().next() {
            None => Ok(None),
            Some(v) => {
                let v = v.map_err(backend)?;
                Hash::from_slice(&v)
                    .map(Some)
                    .ok_or_else(|| StorageError::Corrupt("firmware index value".into()))
            }
        }
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let mut b = sled::Batch::default();
        for (index, bytes, hash) in &batch.entries {
            b.insert(key(ENTRY, &[&index.to_be_bytes()]), bytes.as_slice());
            b.insert(key(LEAF, &[hash.as_bytes()]), &index.to_be_bytes());
        }
        for (level, index, hashes) in &batch.tiles {
            b.insert(
                key(TILE, &[&[*level], &index.to_be_bytes()]),
                hashes.as_slice(),
            );
        }
        for (name, record) in &batch.certifiers {
            b.insert(key(CERTIFIER, &[name.as_bytes()]), record.encode_to_vec());
        }
        for (status_key, record, index) in &batch.statuses {
            b.insert(
                key(STATUS, &[status_key.as_bytes()]),
                record.encode_to_vec(),
            );
            b.insert(
                key(
                    CERTIFICATE_ENTRY,
                    &[status_key.as_bytes(), &index.to_be_bytes()],
                ),
                &[],
            );
        }
        for (path, node) in &batch.map_nodes {
            b.insert(key(MAP_NODE, &[&path.to_bytes()]), node.to_bytes());
        }
        for (digest, index, status_key) in &batch.firmware {
            b.insert(
                key(FIRMWARE, &[digest, &index.to_be_bytes()]),
                status_key.as_bytes(),
            );
        }
        b.insert(
            key(CHECKPOINT, &[&batch.size.to_be_bytes()]),
            batch.checkpoint.as_bytes(),
        );
        b.insert(SIZE_KEY, &batch.size.to_be_bytes());
        self.db.apply_batch(b).map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_storage_suite() {
        let dir = tempfile::tempdir().unwrap();
        super::super::tests::suite(&SledStorage::open(dir.path()).unwrap());
    }

    #[test]
    fn a_commit_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStorage::open(dir.path()).unwrap();
            store
                .commit(&Batch {
                    size: 1,
                    entries: vec![(0, b"x".to_vec(), Hash([1; 32]))],
                    checkpoint: "c\n".into(),
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = SledStorage::open(dir.path()).unwrap();
        assert_eq!(store.size().unwrap(), 1);
        assert_eq!(store.entry(0).unwrap(), Some(b"x".to_vec()));
    }
}

//! The log's records in an ordered key-value store, the layout both embedded backends share:
//! one key space, a one-byte prefix per kind of record, big-endian integers so that keys sort
//! in log order. A whole integration batch is one atomic, durable write.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `e` | index | entry bytes |
//! | `l` | leaf hash's first 8 bytes, index | (empty): found by prefix, checked against the entry |
//! | `t` | level, index | the tile's hashes so far |
//! | `r` | certifier name | CertifierRecord |
//! | `s` | status-map key | StatusRecord of a certificate, or CertifierRecord of a certifier (under its certifier key) |
//! | `x` | status key, index | (empty): the certificate's entries after its issuance |
//! | `y` | certifier name, 0x00, index | status key: a status change the certifier signed |
//! | `b` | map head time, index where its batch began | (empty) |
//! | `f` | firmware SHA-256, index | status key |
//! | `k` | tree size | signed checkpoint |
//! | `c` | position | a position of the status map's top: kind, hash |
//! | `msize` | | tree size |

use std::ops::Range;

use certlog_verifier::proto::{CertifierRecord, StatusRecord};
use certlog_verifier::{Hash, merkle};
use prost::Message;

use certlog_verifier::certificate::certifier_key;

use super::{Batch, MapCell, Result, StatusEncodings, Storage, StorageError, is_certifier_change};

pub(super) const ENTRY: u8 = b'e';
const LEAF: u8 = b'l';
const TILE: u8 = b't';
const CERTIFIER: u8 = b'r';
const STATUS: u8 = b's';
const CERTIFICATE_ENTRY: u8 = b'x';
const CERTIFIER_CHANGE: u8 = b'y';
const BATCH_TIME: u8 = b'b';
const FIRMWARE: u8 = b'f';
const CHECKPOINT: u8 = b'k';
const MAP_CELL: u8 = b'c';
const SIZE_KEY: &[u8] = b"msize";

/// The kinds of record never asked for by a key that may be absent: read by range, or by a
/// key that a stored record names (entries, tiles and checkpoints of the tree's sizes).
pub(super) const READ_BY_RANGE_OR_KNOWN_KEY: &[u8] = &[
    ENTRY,
    LEAF,
    TILE,
    CERTIFICATE_ENTRY,
    MAP_CELL,
    CHECKPOINT,
    CERTIFIER_CHANGE,
    BATCH_TIME,
];

/// Keys and values, as written in one batch.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// What a scan calls with each key and value it meets (an error ends the scan).
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// An embedded ordered key-value store.
pub trait OrderedKv: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Calls `each` with the pairs with `from <= key < to` (no upper bound without `to`), in
    /// key order, at most `limit` of them, until it returns an error. A scan stays within one
    /// kind of record: the keys that start with the first byte of `from` (every scan of this
    /// layout does).
    fn scan_each(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
        each: &mut Visit<'_>,
    ) -> Result<()>;

    /// The pairs [`OrderedKv::scan_each`] meets.
    fn scan(&self, from: &[u8], to: Option<&[u8]>, limit: usize) -> Result<Pairs> {
        let mut pairs = Vec::new();
        self.scan_each(from, to, limit, &mut |k, v| {
            pairs.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        Ok(pairs)
    }

    /// Writes every pair atomically; durable when it returns.
    fn write(&self, pairs: Pairs) -> Result<()>;

    /// See [`Storage::flush`].
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// The [`Storage`] of a log over an ordered key-value store.
pub struct KvStorage<K>(pub K);

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The bytes of a leaf hash kept in its index key.
const LEAF_PREFIX: usize = 8;

/// The start of the index keys of the entries whose leaf hashes begin as `leaf_hash` does.
fn leaf_key_prefix(leaf_hash: &Hash) -> Vec<u8> {
    key(LEAF, &[&leaf_hash.as_bytes()[..LEAF_PREFIX]])
}

/// The first key after every key that starts with `prefix` (none when there is none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
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

fn map_cell_pair((position, cell): &(u32, MapCell)) -> (Vec<u8>, Vec<u8>) {
    (key(MAP_CELL, &[&position.to_be_bytes()]), cell.to_vec())
}

impl<K: OrderedKv> KvStorage<K> {
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Pairs> {
        self.0.scan(prefix, prefix_end(prefix).as_deref(), limit)
    }

    /// The status records with `first <= key <= last` (at most `limit`), each key with what
    /// `value` makes of the stored record.
    fn status_range<T>(
        &self,
        first: &Hash,
        last: &Hash,
        limit: usize,
        value: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<Vec<(Hash, T)>> {
        if first > last {
            return Ok(Vec::new());
        }
        // Status keys are all 33 bytes: the first key after `last` is `last` and a zero byte.
        let end = key(STATUS, &[last.as_bytes(), &[0]]);
        let mut records = Vec::new();
        self.0.scan_each(
            &key(STATUS, &[first.as_bytes()]),
            Some(&end),
            limit,
            &mut |k, v| {
                let status_key = Hash::from_slice(&k[1..])
                    .ok_or_else(|| StorageError::Corrupt("status key".into()))?;
                records.push((status_key, value(v)?));
                Ok(())
            },
        )?;
        Ok(records)
    }
}

/// A map head's time as a key: seconds since the epoch, big-endian (a time before 1970, which
/// no map head has, as 0).
fn time_bytes(time: i64) -> [u8; 8] {
    u64::try_from(time).unwrap_or(0).to_be_bytes()
}

impl<K: OrderedKv> Storage for KvStorage<K> {
    fn size(&self) -> Result<u64> {
        self.0.get(SIZE_KEY)?.map_or(Ok(0), |v| decode_u64(&v))
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        self.0.get(&key(ENTRY, &[&index.to_be_bytes()]))
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        if start >= end {
            return Ok(Vec::new());
        }
        let (from, to) = (
            key(ENTRY, &[&start.to_be_bytes()]),
            key(ENTRY, &[&end.to_be_bytes()]),
        );
        let limit = usize::try_from(end - start).unwrap_or(usize::MAX);
        Ok(self
            .0
            .scan(&from, Some(&to), limit)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>> {
        // Entries whose leaf hashes share the prefix (rarely more than this one) are each
        // hashed again: a prefix stands for a leaf hash in a quarter of the bytes.
        let from = leaf_key_prefix(leaf_hash);
        let to = prefix_end(&from);
        for (k, v) in self.0.scan(&from, to.as_deref(), usize::MAX)? {
            if k.len() == 1 + Hash::LEN {
                // Written before the prefix: the whole leaf hash, the index as value.
                if k[1..] == leaf_hash.0 {
                    return decode_u64(&v).map(Some);
                }
                continue;
            }
            let index = decode_u64(&k[from.len()..])?;
            if self
                .entry(index)?
                .is_some_and(|entry| merkle::leaf_hash(&entry) == *leaf_hash)
            {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }

    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        self.0.get(&key(TILE, &[&[level], &index.to_be_bytes()]))
    }

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>> {
        self.0
            .get(&key(CERTIFIER, &[name.as_bytes()]))?
            .map(|v| decode("certifier record", &v))
            .transpose()
    }

    fn status(&self, status_key: &Hash) -> Result<Option<StatusRecord>> {
        self.0
            .get(&key(STATUS, &[status_key.as_bytes()]))?
            .map(|v| decode("status record", &v))
            .transpose()
    }

    fn status_encodings(&self, first: &Hash, last: &Hash, limit: usize) -> Result<StatusEncodings> {
        self.status_range(first, last, limit, |v| Ok(v.to_vec()))
    }

    fn batch_start_at(&self, time: i64) -> Result<Option<u64>> {
        let from = key(BATCH_TIME, &[&time_bytes(time)]);
        let end = prefix_end(&[BATCH_TIME]);
        match self.0.scan(&from, end.as_deref(), 1)?.first() {
            Some((k, _)) if k.len() == 17 => decode_u64(&k[9..]).map(Some),
            Some(_) => Err(StorageError::Corrupt("batch time key".into())),
            None => Ok(None),
        }
    }

    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>> {
        let prefix = key(CERTIFIER_CHANGE, &[certifier.as_bytes(), &[0]]);
        let start = key(
            CERTIFIER_CHANGE,
            &[certifier.as_bytes(), &[0], &from.to_be_bytes()],
        );
        let mut keys = std::collections::BTreeSet::new();
        self.0.scan_each(
            &start,
            prefix_end(&prefix).as_deref(),
            usize::MAX,
            &mut |_, v| {
                let status_key = Hash::from_slice(v)
                    .ok_or_else(|| StorageError::Corrupt("certifier change".into()))?;
                keys.insert(status_key);
                Ok(())
            },
        )?;
        Ok(keys.into_iter().collect())
    }

    fn status_changes(&self, status_key: &Hash) -> Result<Vec<u64>> {
        let prefix = key(CERTIFICATE_ENTRY, &[status_key.as_bytes()]);
        self.scan_prefix(&prefix, usize::MAX)?
            .iter()
            .map(|(k, _)| decode_u64(&k[prefix.len()..]))
            .collect()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<String>> {
        self.0
            .get(&key(CHECKPOINT, &[&size.to_be_bytes()]))?
            .map(|v| {
                String::from_utf8(v)
                    .map_err(|_| StorageError::Corrupt("checkpoint is not UTF-8".into()))
            })
            .transpose()
    }

    fn firmware(&self, sha256: &[u8; 32]) -> Result<Option<Hash>> {
        match self.scan_prefix(&key(FIRMWARE, &[sha256]), 1)?.first() {
            None => Ok(None),
            Some((_, v)) => Hash::from_slice(v)
                .map(Some)
                .ok_or_else(|| StorageError::Corrupt("firmware index value".into())),
        }
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let mut pairs = Vec::with_capacity(
            2 * batch.entries.len() + 2 * batch.statuses.len() + batch.tiles.len() + 8,
        );
        for (index, bytes, hash) in &batch.entries {
            pairs.push((key(ENTRY, &[&index.to_be_bytes()]), bytes.clone()));
            let mut leaf = leaf_key_prefix(hash);
            leaf.extend_from_slice(&index.to_be_bytes());
            pairs.push((leaf, Vec::new()));
        }
        for (level, index, hashes) in &batch.tiles {
            pairs.push((
                key(TILE, &[&[*level], &index.to_be_bytes()]),
                hashes.clone(),
            ));
        }
        for (name, record) in &batch.certifiers {
            let encoding = record.encode_to_vec();
            pairs.push((key(CERTIFIER, &[name.as_bytes()]), encoding.clone()));
            // The certifier's record is a value of the status map too.
            pairs.push((key(STATUS, &[certifier_key(name).as_bytes()]), encoding));
        }
        for (status_key, record, index) in &batch.statuses {
            pairs.push((
                key(STATUS, &[status_key.as_bytes()]),
                record.encode_to_vec(),
            ));
            // The issuing entry is in the record already.
            if *index != record.issued_index {
                let entry = key(
                    CERTIFICATE_ENTRY,
                    &[status_key.as_bytes(), &index.to_be_bytes()],
                );
                pairs.push((entry, Vec::new()));
            }
            if is_certifier_change(record, *index) {
                let by = key(
                    CERTIFIER_CHANGE,
                    &[record.certifier.as_bytes(), &[0], &index.to_be_bytes()],
                );
                pairs.push((by, status_key.0.to_vec()));
            }
        }
        pairs.extend(batch.map_cells.iter().map(map_cell_pair));
        for (digest, index, status_key) in &batch.firmware {
            let k = key(FIRMWARE, &[digest, &index.to_be_bytes()]);
            pairs.push((k, status_key.0.to_vec()));
        }
        if let Some((start, time)) = batch.map_head {
            let k = key(BATCH_TIME, &[&time_bytes(time), &start.to_be_bytes()]);
            pairs.push((k, Vec::new()));
        }
        pairs.push((
            key(CHECKPOINT, &[&batch.size.to_be_bytes()]),
            batch.checkpoint.clone().into_bytes(),
        ));
        pairs.push((SIZE_KEY.to_vec(), batch.size.to_be_bytes().to_vec()));
        self.0.write(pairs)
    }

    fn map_cells(&self, positions: Range<u32>) -> Result<Vec<(u32, MapCell)>> {
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        let (from, to) = (
            key(MAP_CELL, &[&positions.start.to_be_bytes()]),
            key(MAP_CELL, &[&positions.end.to_be_bytes()]),
        );
        let mut cells = Vec::new();
        self.0
            .scan_each(&from, Some(&to), usize::MAX, &mut |k, v| {
                let position = k[1..]
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| StorageError::Corrupt("status map position key".into()))?;
                let cell = v
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("status map position".into()))?;
                cells.push((position, cell));
                Ok(())
            })?;
        Ok(cells)
    }

    fn put_map_cells(&self, cells: &[(u32, MapCell)]) -> Result<()> {
        self.0.write(cells.iter().map(map_cell_pair).collect())
    }

    fn flush(&self) -> Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}

//! The status map (DESIGN "Status map"): a sparse Merkle tree over 256-bit keys, the status-map
//! keys of certificates, whose value for a certificate is the hash of its status record.
//!
//! The tree has 256 levels, one per key bit from the most significant. Empty subtrees hash to
//! [`EMPTY`] at every height, and a subtree that holds one key hashes to that key's leaf hash,
//! wherever it stands (as in Diem's Jellyfish Merkle tree): a store keeps only the non-empty
//! nodes, about two per key, and an update or a proof walks only as deep as keys share bits.
//!
//! - leaf hash: SHA-256(0x02 || key || value)
//! - node hash: SHA-256(0x03 || left || right), where an empty child counts as [`EMPTY`]
//!
//! The prefixes differ from RFC 6962's so that no map hash can pass for a log hash. A proof is
//! the siblings from the root down to where the key is (or would be), compressed: a bitmap of
//! the non-empty ones, then only those. The map is derived from the log alone, so anyone who
//! replays the log gets the same roots ([`MapUpdate`] over a [`MapStore`]).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::proto::StatusProof;

/// The hash of an empty subtree, at every height; the root of the empty map.
pub const EMPTY: Hash = Hash([0; 32]);

/// The number of key bits, and of levels.
pub const KEY_BITS: u16 = 256;

/// The leaf hash of `key` with `value`.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x02]);
    h.update(key.0);
    h.update(value.0);
    Hash(h.finalize().into())
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x03]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Bit `depth` of a key, from the most significant: false goes left, true right.
pub fn bit(key: &Hash, depth: u16) -> bool {
    let depth = usize::from(depth);
    key.0[depth / 8] >> (7 - depth % 8) & 1 == 1
}

/// Where a node stands: its depth and the key bits that lead to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePath {
    /// 0 for the root, up to 256.
    pub depth: u16,
    /// The first `depth` bits of every key below, the other bits zero.
    pub prefix: Hash,
}

impl NodePath {
    /// The root.
    pub const ROOT: NodePath = NodePath {
        depth: 0,
        prefix: Hash([0; 32]),
    };

    /// The child on the side of `right`.
    pub fn child(&self, right: bool) -> NodePath {
        let mut prefix = self.prefix;
        if right {
            let d = usize::from(self.depth);
            prefix.0[d / 8] |= 1 << (7 - d % 8);
        }
        NodePath {
            depth: self.depth + 1,
            prefix,
        }
    }

    /// The sibling of this node (not for the root).
    pub fn sibling(&self) -> NodePath {
        let d = usize::from(self.depth - 1);
        let mut prefix = self.prefix;
        prefix.0[d / 8] ^= 1 << (7 - d % 8);
        NodePath {
            depth: self.depth,
            prefix,
        }
    }

    /// A fixed-size encoding, ordered by depth then prefix: a storage key.
    pub fn to_bytes(&self) -> [u8; 34] {
        let mut b = [0u8; 34];
        b[..2].copy_from_slice(&self.depth.to_be_bytes());
        b[2..].copy_from_slice(&self.prefix.0);
        b
    }
}

/// A stored node of the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapNode {
    /// The only key of its subtree.
    Leaf {
        /// The key.
        key: Hash,
        /// Its value: the hash of the status record.
        value: Hash,
    },
    /// A subtree of two or more keys.
    Internal {
        /// Its hash.
        hash: Hash,
    },
}

/// Why stored map bytes are not a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt status map node of {0} bytes")]
pub struct NodeDecodeError(pub usize);

impl MapNode {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            MapNode::Leaf { key, value } => leaf_hash(key, value),
            MapNode::Internal { hash } => *hash,
        }
    }

    /// Encodes a node for storage: 0x00 || key || value, or 0x01 || hash.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            MapNode::Leaf { key, value } => [&[0u8][..], &key.0, &value.0].concat(),
            MapNode::Internal { hash } => [&[1u8][..], &hash.0].concat(),
        }
    }

    /// Decodes a stored node.
    pub fn from_bytes(bytes: &[u8]) -> Result<MapNode, NodeDecodeError> {
        match bytes {
            [0, rest @ ..] if rest.len() == 64 => Ok(MapNode::Leaf {
                key: Hash::from_slice(&rest[..32]).ok_or(NodeDecodeError(bytes.len()))?,
                value: Hash::from_slice(&rest[32..]).ok_or(NodeDecodeError(bytes.len()))?,
            }),
            [1, rest @ ..] => Ok(MapNode::Internal {
                hash: Hash::from_slice(rest).ok_or(NodeDecodeError(bytes.len()))?,
            }),
            _ => Err(NodeDecodeError(bytes.len())),
        }
    }
}

/// Where the nodes of a map are kept.
pub trait MapStore {
    /// Why a node could not be read.
    type Error;

    /// The node at `path`, if the subtree there is not empty.
    fn node(&self, path: &NodePath) -> Result<Option<MapNode>, Self::Error>;

    /// The hash of the node at `path` ([`EMPTY`] for an empty subtree): all that proofs and
    /// updates need of a sibling. A store that keeps a leaf's hash apart from its key and
    /// value answers it without reading them.
    fn hash(&self, path: &NodePath) -> Result<Hash, Self::Error> {
        Ok(hash_of(self.node(path)?))
    }
}

/// A map kept in memory, for auditors replaying a log and for tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryMap(pub BTreeMap<NodePath, MapNode>);

impl MapStore for MemoryMap {
    type Error = core::convert::Infallible;

    fn node(&self, path: &NodePath) -> Result<Option<MapNode>, Self::Error> {
        Ok(self.0.get(path).copied())
    }
}

impl MemoryMap {
    /// Writes the nodes of an update.
    pub fn apply(&mut self, changes: MapChanges) {
        self.0.extend(changes);
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.0.get(&NodePath::ROOT).map_or(EMPTY, MapNode::hash)
    }
}

/// A key and its value.
type KeyValue = (Hash, Hash);

/// The nodes an update writes.
pub type MapChanges = Vec<(NodePath, MapNode)>;

/// Changes to a map, over its store: set values, then [`MapUpdate::finish`] gives the new root
/// and the nodes to write.
///
/// The keys are applied together, in key order, in one walk down the tree: each node on their
/// paths is read once, each untouched sibling once, and each new hash computed once.
pub struct MapUpdate<'a, S: MapStore> {
    store: &'a S,
    pending: BTreeMap<Hash, Hash>,
}

impl<'a, S: MapStore> MapUpdate<'a, S> {
    /// No changes yet.
    pub fn new(store: &'a S) -> MapUpdate<'a, S> {
        MapUpdate {
            store,
            pending: BTreeMap::new(),
        }
    }

    /// Sets the value of `key` (adding the key if it is new); the last value set wins.
    pub fn set(&mut self, key: Hash, value: Hash) {
        self.pending.insert(key, value);
    }

    /// The root after the changes, and the nodes to write.
    pub fn finish(self) -> Result<(Hash, MapChanges), S::Error> {
        let updates: Vec<KeyValue> = self.pending.into_iter().collect();
        let root = self.store.node(&NodePath::ROOT)?;
        let mut changes = Vec::new();
        let root = if updates.is_empty() {
            root
        } else {
            Some(update(
                self.store,
                NodePath::ROOT,
                root,
                &updates,
                &mut changes,
            )?)
        };
        Ok((root.map_or(EMPTY, |n| n.hash()), changes))
    }
}

fn hash_of(node: Option<MapNode>) -> Hash {
    node.map_or(EMPTY, |n| n.hash())
}

/// The keys of a sorted slice that go left and right at `depth`.
fn split(updates: &[KeyValue], depth: u16) -> (&[KeyValue], &[KeyValue]) {
    updates.split_at(updates.partition_point(|(k, _)| !bit(k, depth)))
}

/// Applies sorted `updates` (all below `path`) to the stored subtree at `path`, whose node is
/// `node`; returns its new node and notes every node written.
fn update<S: MapStore>(
    store: &S,
    path: NodePath,
    node: Option<MapNode>,
    updates: &[KeyValue],
    out: &mut MapChanges,
) -> Result<MapNode, S::Error> {
    let new = match node {
        Some(MapNode::Internal { .. }) => {
            let (left, right) = split(updates, path.depth);
            let mut child = |side: bool, updates: &[KeyValue]| -> Result<Hash, S::Error> {
                let path = path.child(side);
                if updates.is_empty() {
                    return store.hash(&path);
                }
                let stored = store.node(&path)?;
                Ok(update(store, path, stored, updates, out)?.hash())
            };
            let (left, right) = (child(false, left)?, child(true, right)?);
            MapNode::Internal {
                hash: node_hash(&left, &right),
            }
        }
        Some(MapNode::Leaf { key, value }) if !updates.iter().any(|(k, _)| *k == key) => {
            // The leaf there moves down with the new keys.
            let mut all = updates.to_vec();
            let at = all.partition_point(|(k, _)| *k < key);
            all.insert(at, (key, value));
            return Ok(build(path, &all, out));
        }
        _ => return Ok(build(path, updates, out)),
    };
    out.push((path, new));
    Ok(new)
}

/// Every node of the subtree at `path` that holds exactly `keys` (sorted, all below `path`,
/// values given): what a store that keeps only the keys and values rebuilds a subtree from.
pub fn subtree(path: NodePath, keys: &[KeyValue]) -> MapChanges {
    let mut nodes = Vec::new();
    if !keys.is_empty() {
        build(path, keys, &mut nodes);
    }
    nodes
}

/// Writes a new subtree at `path` holding exactly the sorted `keys` (nothing is stored below).
fn build(path: NodePath, keys: &[KeyValue], out: &mut MapChanges) -> MapNode {
    let node = match keys {
        [(key, value)] => MapNode::Leaf {
            key: *key,
            value: *value,
        },
        _ => {
            let (left, right) = split(keys, path.depth);
            let mut child = |side: bool, keys: &[KeyValue]| {
                if keys.is_empty() {
                    EMPTY
                } else {
                    build(path.child(side), keys, out).hash()
                }
            };
            let (left, right) = (child(false, left), child(true, right));
            MapNode::Internal {
                hash: node_hash(&left, &right),
            }
        }
    };
    out.push((path, node));
    node
}

/// What a map holds for a key, with the proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The key's value, or none when the key is absent.
    pub value: Option<Hash>,
    /// The (non-)membership proof.
    pub proof: StatusProof,
}

/// Looks a key up, with its proof.
pub fn prove<S: MapStore>(store: &S, key: &Hash) -> Result<Lookup, S::Error> {
    let mut siblings = Vec::new();
    let mut path = NodePath::ROOT;
    let mut proof = StatusProof::default();
    let value = loop {
        match store.node(&path)? {
            None => break None,
            Some(MapNode::Leaf { key: k, value }) if k == *key => break Some(value),
            Some(MapNode::Leaf { key: k, value }) => {
                proof.other_key = k.0.to_vec();
                proof.other_value = value.0.to_vec();
                break None;
            }
            Some(MapNode::Internal { .. }) => {
                let right = bit(key, path.depth);
                siblings.push(store.hash(&path.child(!right))?);
                path = path.child(right);
            }
        }
    };
    proof.depth = u32::from(path.depth);
    proof.bitmap = vec![0u8; siblings.len().div_ceil(8)];
    for (i, s) in siblings.iter().enumerate() {
        if *s != EMPTY {
            proof.bitmap[i / 8] |= 1 << (7 - i % 8);
            proof.siblings.push(s.0.to_vec());
        }
    }
    Ok(Lookup { value, proof })
}

/// Why a status-map proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusProofError {
    /// The proof's fields do not fit together.
    #[error("malformed status proof: {0}")]
    Malformed(&'static str),
    /// The proof leads to another root.
    #[error("status proof leads to root {computed}, the map head says {expected}")]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The map head's root.
        expected: Hash,
    },
}

/// Verifies that `key` has `value` (or, with `None`, is absent) in the map with `root`.
pub fn verify(
    root: &Hash,
    key: &Hash,
    value: Option<&Hash>,
    proof: &StatusProof,
) -> Result<(), StatusProofError> {
    use StatusProofError::Malformed;
    let depth = u16::try_from(proof.depth)
        .ok()
        .filter(|d| *d <= KEY_BITS)
        .ok_or(Malformed("depth above 256"))?;
    if proof.bitmap.len() != usize::from(depth).div_ceil(8) {
        return Err(Malformed("bitmap length does not match the depth"));
    }
    let set = |i: usize| proof.bitmap[i / 8] >> (7 - i % 8) & 1 == 1;
    let ones = (0..usize::from(depth)).filter(|&i| set(i)).count();
    let spare = proof
        .bitmap
        .iter()
        .map(|b| b.count_ones() as usize)
        .sum::<usize>()
        - ones;
    if spare != 0 || ones != proof.siblings.len() {
        return Err(Malformed("bitmap does not match the siblings"));
    }
    let other = match (proof.other_key.len(), proof.other_value.len()) {
        (0, 0) => None,
        (32, 32) => Some((
            Hash::from_slice(&proof.other_key).ok_or(Malformed("other key"))?,
            Hash::from_slice(&proof.other_value).ok_or(Malformed("other value"))?,
        )),
        _ => return Err(Malformed("other leaf is not two 32-byte hashes")),
    };
    let mut hash = match (value, other) {
        (Some(v), None) => leaf_hash(key, v),
        (Some(_), Some(_)) => return Err(Malformed("a membership proof has another leaf")),
        (None, None) => EMPTY,
        (None, Some((k, v))) => {
            // Another key stands where this one would: it must share the path, and differ.
            if k == *key || (0..depth).any(|d| bit(&k, d) != bit(key, d)) {
                return Err(Malformed("the other leaf is not on the key's path"));
            }
            leaf_hash(&k, &v)
        }
    };
    let mut siblings = proof.siblings.iter().rev();
    for d in (0..depth).rev() {
        let sibling = if set(usize::from(d)) {
            siblings
                .next()
                .and_then(|s| Hash::from_slice(s))
                .ok_or(Malformed("a sibling is not 32 bytes"))?
        } else {
            EMPTY
        };
        hash = if bit(key, d) {
            node_hash(&sibling, &hash)
        } else {
            node_hash(&hash, &sibling)
        };
    }
    if hash != *root {
        return Err(StatusProofError::RootMismatch {
            computed: hash,
            expected: *root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Hash {
        Hash(Sha256::digest(n.to_be_bytes()).into())
    }

    fn value(n: u32) -> Hash {
        Hash(Sha256::digest([n.to_le_bytes(), [9; 4]].concat()).into())
    }

    /// The root of a map computed from scratch, by the definition: recursive over key bits.
    fn reference_root(entries: &[(Hash, Hash)], depth: u16) -> Hash {
        match entries {
            [] => EMPTY,
            [(k, v)] => leaf_hash(k, v),
            _ => {
                let (right, left): (Vec<_>, Vec<_>) =
                    entries.iter().partition(|(k, _)| bit(k, depth));
                node_hash(
                    &reference_root(&left, depth + 1),
                    &reference_root(&right, depth + 1),
                )
            }
        }
    }

    fn build(n: u32) -> (MemoryMap, BTreeMap<Hash, Hash>) {
        let mut map = MemoryMap::default();
        let mut all = BTreeMap::new();
        // Several batches, with updates of earlier keys.
        for batch in 0..4 {
            let mut update = MapUpdate::new(&map);
            for i in (batch..n).step_by(4) {
                update.set(key(i), value(i + batch));
                all.insert(key(i), value(i + batch));
            }
            if batch == 3 {
                update.set(key(0), value(100));
                all.insert(key(0), value(100));
            }
            let (root, changes) = update.finish().unwrap();
            map.apply(changes);
            assert_eq!(map.root(), root);
        }
        (map, all)
    }

    #[test]
    fn roots_match_the_definition() {
        assert_eq!(MemoryMap::default().root(), EMPTY);
        for n in [1, 2, 3, 10, 100, 500] {
            let (map, all) = build(n);
            let entries: Vec<(Hash, Hash)> = all.into_iter().collect();
            assert_eq!(map.root(), reference_root(&entries, 0), "{n} keys");
        }
    }

    #[test]
    fn membership_and_absence_proofs_verify() {
        let (map, all) = build(300);
        let root = map.root();
        for (k, v) in &all {
            let lookup = prove(&map, k).unwrap();
            assert_eq!(lookup.value, Some(*v));
            verify(&root, k, Some(v), &lookup.proof).unwrap();
            // Compression: far fewer siblings than levels.
            assert!(lookup.proof.siblings.len() < 20);
            assert!(verify(&root, k, Some(&value(9999)), &lookup.proof).is_err());
            assert!(verify(&root, k, None, &lookup.proof).is_err());
        }
        for n in 1000..1100 {
            let lookup = prove(&map, &key(n)).unwrap();
            assert_eq!(lookup.value, None);
            verify(&root, &key(n), None, &lookup.proof).unwrap();
            assert!(verify(&root, &key(n), Some(&value(1)), &lookup.proof).is_err());
        }
    }

    #[test]
    fn tampered_proofs_fail() {
        let (map, _) = build(50);
        let root = map.root();
        let lookup = prove(&map, &key(7)).unwrap();
        let v = lookup.value.unwrap();
        let mut p = lookup.proof.clone();
        p.siblings[0][0] ^= 1;
        assert!(matches!(
            verify(&root, &key(7), Some(&v), &p),
            Err(StatusProofError::RootMismatch { .. })
        ));
        let mut p = lookup.proof.clone();
        p.depth += 1;
        assert!(verify(&root, &key(7), Some(&v), &p).is_err());
        let mut p = lookup.proof.clone();
        p.bitmap[0] ^= 0x80;
        assert!(verify(&root, &key(7), Some(&v), &p).is_err());
        // An absence proof that borrows a leaf from elsewhere in the tree.
        let absent = prove(&map, &key(5000)).unwrap().proof;
        let mut p = absent.clone();
        p.other_key = key(7).0.to_vec();
        p.other_value = v.0.to_vec();
        assert!(verify(&root, &key(5000), None, &p).is_err());
    }

    #[test]
    fn a_subtree_rebuilt_from_its_keys_has_the_stored_nodes() {
        let (map, all) = build(400);
        let entries: Vec<(Hash, Hash)> = all.into_iter().collect();
        let whole: BTreeMap<NodePath, MapNode> =
            subtree(NodePath::ROOT, &entries).into_iter().collect();
        assert_eq!(whole, map.0);
        // The keys under one node at depth 3 give exactly the stored nodes below it.
        let path = NodePath::ROOT.child(true).child(false).child(true);
        let under: Vec<(Hash, Hash)> = entries
            .iter()
            .filter(|(k, _)| bit(k, 0) && !bit(k, 1) && bit(k, 2))
            .copied()
            .collect();
        let part: BTreeMap<NodePath, MapNode> = subtree(path, &under).into_iter().collect();
        assert_eq!(part.get(&path), map.0.get(&path));
        assert_eq!(
            part.len(),
            map.0
                .range(path..)
                .filter(|(p, _)| {
                    p.depth >= 3 && (0..3).all(|d| bit(&p.prefix, d) == bit(&path.prefix, d))
                })
                .count()
        );
        assert!(subtree(path, &[]).is_empty());
    }

    #[test]
    fn node_encoding_round_trips() {
        for node in [
            MapNode::Leaf {
                key: key(1),
                value: value(2),
            },
            MapNode::Internal { hash: key(3) },
        ] {
            assert_eq!(MapNode::from_bytes(&node.to_bytes()), Ok(node));
        }
        assert!(MapNode::from_bytes(&[2; 33]).is_err());
        assert!(MapNode::from_bytes(&[]).is_err());
    }
}

//! RFC 6962 / RFC 9162 Merkle trees: hashing (RFC 9162 2.1.1), inclusion proofs (2.1.3) and
//! consistency proofs (2.1.4), generated from stored subtree hashes and verified.
//!
//! Proof generation never needs the whole tree: it reads the hashes of complete subtrees through
//! a [`HashReader`], which a log implements over its storage (see `certlog_log::tiles`) and a client
//! over downloaded tiles. A [`CompactRange`] keeps the right edge of a growing tree so that
//! appending leaves yields every new subtree hash to store, and the root.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// The root of the empty tree, SHA-256 of the empty string (RFC 9162 2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The error for a hash that is not 32 bytes of standard base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash in base64: {0:?}")]
pub struct HashParseError(pub String);

impl Hash {
    /// The size of a hash in bytes.
    pub const LEN: usize = 32;

    /// The hash as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok().map(Hash)
    }

    /// Parses the standard base64 form used by checkpoints, proofs and the command line.
    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        BASE64
            .decode(text)
            .ok()
            .and_then(|bytes| Hash::from_slice(&bytes))
            .ok_or_else(|| HashParseError(text.into()))
    }

    /// The standard base64 form.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", hex::encode(self.0))
    }
}

impl core::str::FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Hash, HashParseError> {
        Hash::from_base64(s)
    }
}

/// The leaf hash of an entry: SHA-256(0x00 || entry) (RFC 9162 2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The Merkle tree hash of a list of leaf hashes, computed in one pass with O(log n) memory.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaf_hashes {
        range.append(*leaf, |_, _| {});
    }
    range.root()
}

/// A complete (perfect) subtree: the `2^level` leaves from `index << level` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves: 0 for a leaf.
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The subtree of height `level` at position `index`.
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }
}

/// A source of hashes of complete subtrees, such as a log's tile storage or downloaded tiles.
pub trait HashReader {
    /// Why a hash could not be read.
    type Error;

    /// The hash of the complete subtree `node`.
    fn read_hash(&self, node: NodeId) -> Result<Hash, Self::Error>;
}

/// Why a proof or root could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError<E> {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("no consistency proof from size {size1} to the smaller size {size2}")]
    SizesOutOfOrder {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// The hash reader failed.
    #[error("reading a stored hash: {0}")]
    Read(E),
}

/// MTH(D[lo:hi]) where `lo` is a multiple of the largest power of two not above `hi - lo`, as every
/// range met by the RFC 9162 recursions is: the range is a run of complete subtrees, largest
/// first, hashed together from the right.
fn range_hash<R: HashReader>(lo: u64, hi: u64, reader: &R) -> Result<Hash, R::Error> {
    if lo == hi {
        return Ok(EMPTY_ROOT);
    }
    let mut subtrees: Vec<Hash> = Vec::with_capacity(64);
    let mut start = lo;
    while start < hi {
        let level = 63 - (hi - start).leading_zeros() as u8;
        debug_assert_eq!(start % (1 << level), 0, "unaligned range {lo}..{hi}");
        subtrees.push(reader.read_hash(NodeId::new(level, start >> level))?);
        start += 1 << level;
    }
    Ok(fold_right(&subtrees))
}

/// Hashes a run of subtree hashes, largest (leftmost) first, from the right.
fn fold_right(subtrees: &[Hash]) -> Hash {
    let mut iter = subtrees.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The largest power of two strictly below `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree of `size` leaves, from stored subtree hashes.
pub fn tree_root<R: HashReader>(size: u64, reader: &R) -> Result<Hash, R::Error> {
    range_hash(0, size, reader)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves: PATH(m, D[n]) of RFC 9162
/// 2.1.3.1, ordered from the leaf up.
pub fn inclusion_proof<R: HashReader>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, noting each sibling, then return them bottom up.
    let mut proof = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            proof.push(range_hash(lo + k, hi, reader).map_err(ProveError::Read)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(lo, lo + k, reader).map_err(ProveError::Read)?);
            lo += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2` leaves:
/// PROOF(m, D[n]) of RFC 9162 2.1.4.1. Empty when either size is 0 or they are equal.
pub fn consistency_proof<R: HashReader>(
    size1: u64,
    size2: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if size1 > size2 {
        return Err(ProveError::SizesOutOfOrder { size1, size2 });
    }
    let mut proof = Vec::with_capacity(64);
    if size1 == 0 || size1 == size2 {
        return Ok(proof);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: each step notes one hash, then the recursion ends.
    let (mut lo, mut hi, mut m, mut whole) = (0, size2, size1, true);
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            proof.push(range_hash(lo + k, hi, reader).map_err(ProveError::Read)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(lo, lo + k, reader).map_err(ProveError::Read)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        proof.push(range_hash(lo, hi, reader).map_err(ProveError::Read)?);
    }
    proof.reverse();
    Ok(proof)
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The second tree is smaller than the first.
    #[error("tree size {size2} is smaller than {size1}")]
    SizesOutOfOrder {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// The proof has the wrong number of hashes for the index and sizes.
    #[error("proof has {got} hashes, {want} expected")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes such a proof has.
        want: usize,
    },
    /// The proof leads to another root than the one given.
    #[error("computed root {computed} does not match {expected}")]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root it should lead to.
        expected: Hash,
    },
    /// A consistency path from the empty tree, which every tree extends with an empty proof.
    #[error("the empty tree has no consistency path: every tree extends it")]
    EmptyTree,
    /// Two equal tree sizes with different roots.
    #[error("two trees of size {size} with different roots")]
    DifferentRoots {
        /// The common size.
        size: u64,
    },
}

/// The root that an inclusion proof of `leaf` at `index` in a tree of `size` leads to
/// (RFC 9162 2.1.3.2, steps 1-5).
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    debug_assert_eq!(sn, 0, "the length check guarantees a full path");
    Ok(r)
}

/// The number of hashes in the inclusion proof of `index` in a tree of `size` (index < size):
/// one per level where the path and the right edge differ, plus one per left sibling above.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with
/// `root1` (RFC 9162 2.1.4.2). Every tree extends the empty tree, with an empty proof.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        if size1 == size2 && root1 != root2 {
            return Err(ProofError::DifferentRoots { size: size1 });
        }
        return Ok(());
    }
    // When size1 is a power of two its root is itself the first node of the path.
    let (seed, rest) = if size1.is_power_of_two() {
        (*root1, proof)
    } else {
        match proof.split_first() {
            Some((seed, rest)) => (*seed, rest),
            None => {
                return Err(ProofError::WrongLength {
                    got: 0,
                    want: consistency_path_len(size1, size2) + 1,
                });
            }
        }
    };
    let (fr, sr) =
        consistency_walk(size1, size2, seed, rest).map_err(|want| ProofError::WrongLength {
            got: proof.len(),
            want: want + usize::from(!size1.is_power_of_two()),
        })?;
    if fr != *root1 {
        return Err(ProofError::RootMismatch {
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(ProofError::RootMismatch {
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

/// The consistency proof from `size1` to `size2` (`0 < size1 < size2`) in full form: the RFC 9162
/// 2.1.4.1 proof, preceded by the newer tree's hash of the first `size1` leaves when the RFC
/// leaves it out (when `size1` is a power of two, the verifier seeds with the old root instead).
/// With it, [`consistency_roots`] computes both roots from the newer tree's hashes alone, so it
/// can show that a tree does *not* extend another.
pub fn full_consistency_proof<R: HashReader>(
    size1: u64,
    size2: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if size1 == 0 || size1 >= size2 {
        return Err(ProveError::SizesOutOfOrder { size1, size2 });
    }
    let mut proof = consistency_proof(size1, size2, reader)?;
    if size1.is_power_of_two() {
        proof.insert(0, range_hash(0, size1, reader).map_err(ProveError::Read)?);
    }
    Ok(proof)
}

/// The roots of the trees of `size1` and `size2` leaves (`0 < size1 < size2`) that a full-form
/// consistency proof ([`full_consistency_proof`]) leads to: RFC 9162 2.1.4.2, steps 2-6, seeded
/// with the proof's first hash. When the second root is a signed tree's, the first is the root
/// that tree's first `size1` leaves have: if it differs from a signed root of size `size1`, the
/// two trees are not consistent (unless SHA-256 collides).
pub fn consistency_roots(
    size1: u64,
    size2: u64,
    proof: &[Hash],
) -> Result<(Hash, Hash), ProofError> {
    if size1 >= size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTree);
    }
    let want = consistency_path_len(size1, size2) + 1;
    let (seed, rest) = proof
        .split_first()
        .ok_or(ProofError::WrongLength { got: 0, want })?;
    consistency_walk(size1, size2, *seed, rest).map_err(|want| ProofError::WrongLength {
        got: proof.len(),
        want: want + 1,
    })
}

/// The number of hashes of a consistency path after its seed (`0 < size1 < size2`).
fn consistency_path_len(size1: u64, size2: u64) -> usize {
    let shift = size1.trailing_zeros();
    inclusion_proof_len((size1 - 1) >> shift, ((size2 - 1) >> shift) + 1)
}

/// RFC 9162 2.1.4.2 steps 3-6 from `seed` over the rest of the path (`0 < size1 < size2`):
/// the two roots, or the length the path should have had.
fn consistency_walk(
    size1: u64,
    size2: u64,
    seed: Hash,
    rest: &[Hash],
) -> Result<(Hash, Hash), usize> {
    let want = consistency_path_len(size1, size2);
    if rest.len() != want {
        return Err(want);
    }
    let shift = size1.trailing_zeros();
    let (mut fn_, mut sn) = ((size1 - 1) >> shift, (size2 - 1) >> shift);
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    Ok((fr, sr))
}

/// The right edge of a tree: the roots of the complete subtrees that cover leaves `0..size`,
/// largest first, one for each bit set in `size`. Enough to append leaves and compute the root.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    subtrees: Vec<Hash>,
}

/// The error for a compact range whose hashes do not match its size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of size {size} has {want} edge subtrees, {got} given")]
pub struct CompactRangeError {
    /// The tree size.
    pub size: u64,
    /// Subtrees such a tree has.
    pub want: usize,
    /// Subtrees given.
    pub got: usize,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// A tree from its size and edge subtree hashes, largest first.
    pub fn from_parts(size: u64, subtrees: Vec<Hash>) -> Result<CompactRange, CompactRangeError> {
        let want = size.count_ones() as usize;
        if subtrees.len() != want {
            return Err(CompactRangeError {
                size,
                want,
                got: subtrees.len(),
            });
        }
        Ok(CompactRange { size, subtrees })
    }

    /// The edge of the tree of `size` leaves, read from stored subtree hashes.
    pub fn from_reader<R: HashReader>(size: u64, reader: &R) -> Result<CompactRange, R::Error> {
        let mut subtrees = Vec::with_capacity(size.count_ones() as usize);
        for node in Self::edge_nodes(size) {
            subtrees.push(reader.read_hash(node)?);
        }
        Ok(CompactRange { size, subtrees })
    }

    /// The complete subtrees on the edge of a tree of `size` leaves, largest first.
    pub fn edge_nodes(size: u64) -> impl Iterator<Item = NodeId> {
        (0..64u8)
            .rev()
            .filter(move |level| size >> level & 1 == 1)
            .map(move |level| {
                // The subtree of height `level` that ends the bits above it.
                NodeId::new(level, (size >> level) - 1)
            })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The edge subtree hashes, largest first.
    pub fn subtrees(&self) -> &[Hash] {
        &self.subtrees
    }

    /// Appends a leaf hash. `stored` sees the leaf (level 0) and then every subtree it completes,
    /// lowest first: exactly the hashes a log stores for the new leaf.
    pub fn append(&mut self, leaf: Hash, mut stored: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        stored(NodeId::new(0, index), &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        while index >> level & 1 == 1 {
            // A left sibling of the same height is waiting: merge with it.
            let left = self.subtrees.pop();
            debug_assert!(left.is_some(), "a set bit has a subtree");
            hash = node_hash(&left.unwrap_or_default(), &hash);
            level += 1;
            stored(NodeId::new(level, index >> level), &hash);
        }
        self.subtrees.push(hash);
        self.size += 1;
    }

    /// The root of the tree (RFC 9162 2.1.1 MTH), [`EMPTY_ROOT`] when empty.
    pub fn root(&self) -> Hash {
        fold_right(&self.subtrees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use core::convert::Infallible;

    /// Every stored subtree hash of a tree built by appending.
    #[derive(Default)]
    struct MemoryTree {
        nodes: BTreeMap<NodeId, Hash>,
        range: CompactRange,
    }

    impl MemoryTree {
        fn with_leaves(n: u64) -> MemoryTree {
            let mut tree = MemoryTree::default();
            for i in 0..n {
                let nodes = &mut tree.nodes;
                tree.range.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                    nodes.insert(id, *h);
                });
            }
            tree
        }
    }

    impl HashReader for MemoryTree {
        type Error = Infallible;
        fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
            Ok(self.nodes[&node])
        }
    }

    /// The eight leaves of the transparency-dev/merkle test set.
    fn rfc_leaves() -> Vec<Hash> {
        let hex = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ];
        hex.iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(
            EMPTY_ROOT.to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(root_of(&[]), EMPTY_ROOT);
    }

    #[test]
    fn root_of_the_eight_leaf_set() {
        assert_eq!(
            hex::encode(root_of(&rfc_leaves()).0),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    #[test]
    fn stored_roots_match_compact_range_at_every_size() {
        let tree = MemoryTree::with_leaves(300);
        let mut range = CompactRange::new();
        for size in 0..=300u64 {
            assert_eq!(tree_root(size, &tree).unwrap(), range.root(), "size {size}");
            let edge = CompactRange::from_reader(size, &tree).unwrap();
            assert_eq!(edge, range, "edge at size {size}");
            range.append(leaf_hash(&size.to_be_bytes()), |_, _| {});
        }
    }

    #[test]
    fn proofs_round_trip() {
        let tree = MemoryTree::with_leaves(70);
        for size in 1..=70u64 {
            let root = tree_root(size, &tree).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(index, size, &tree).unwrap();
                let leaf = leaf_hash(&index.to_be_bytes());
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            }
            for size1 in 0..=size {
                let root1 = tree_root(size1, &tree).unwrap();
                let proof = consistency_proof(size1, size, &tree).unwrap();
                verify_consistency(size1, size, &root1, &root, &proof).unwrap();
            }
        }
    }

    #[test]
    fn full_consistency_proofs_give_both_roots() {
        let tree = MemoryTree::with_leaves(70);
        for size2 in 2..=70u64 {
            let root2 = tree_root(size2, &tree).unwrap();
            for size1 in 1..size2 {
                let root1 = tree_root(size1, &tree).unwrap();
                let full = full_consistency_proof(size1, size2, &tree).unwrap();
                assert_eq!(consistency_roots(size1, size2, &full), Ok((root1, root2)));
                // The RFC proof is the full one without its seed when size1 is a power of two.
                let rfc = consistency_proof(size1, size2, &tree).unwrap();
                let skip = usize::from(size1.is_power_of_two());
                assert_eq!(full[skip..], rfc[..], "{size1} -> {size2}");
                verify_consistency(size1, size2, &root1, &root2, &rfc).unwrap();
                assert!(consistency_roots(size1, size2, &full[1..]).is_err());
            }
        }
        assert_eq!(consistency_roots(0, 5, &[]), Err(ProofError::EmptyTree));
        assert!(matches!(
            full_consistency_proof(4, 4, &tree),
            Err(ProveError::SizesOutOfOrder { .. })
        ));
    }

    #[test]
    fn a_fork_shows_in_the_full_proof() {
        // Two trees that share 5 leaves, then differ: the newer one's proof reproduces its own
        // root and gives another root for the first 7 leaves than the older tree's.
        let a = MemoryTree::with_leaves(7);
        let mut b = MemoryTree::default();
        for i in 0..12u64 {
            let leaf = if i < 5 { i } else { 100 + i };
            let nodes = &mut b.nodes;
            b.range.append(leaf_hash(&leaf.to_be_bytes()), |id, h| {
                nodes.insert(id, *h);
            });
        }
        let (root_a, root_b) = (tree_root(7, &a).unwrap(), tree_root(12, &b).unwrap());
        let full = full_consistency_proof(7, 12, &b).unwrap();
        let (root1, root2) = consistency_roots(7, 12, &full).unwrap();
        assert_eq!(root2, root_b);
        assert_ne!(root1, root_a);
        assert!(
            verify_consistency(
                7,
                12,
                &root_a,
                &root_b,
                &consistency_proof(7, 12, &b).unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let tree = MemoryTree::with_leaves(4);
        assert_eq!(
            inclusion_proof(4, 4, &tree),
            Err(ProveError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            consistency_proof(3, 2, &tree),
            Err(ProveError::SizesOutOfOrder { size1: 3, size2: 2 })
        );
        let root = tree_root(4, &tree).unwrap();
        let leaf = leaf_hash(&0u64.to_be_bytes());
        assert!(matches!(
            verify_inclusion(&leaf, 0, 4, &[], &root),
            Err(ProofError::WrongLength { got: 0, want: 2 })
        ));
        assert!(verify_consistency(2, 2, &root, &EMPTY_ROOT, &[]).is_err());
    }

    #[test]
    fn hash_base64_round_trip() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(Hash::from_base64("AAAA").is_err());
        assert!(Hash::from_base64("not base64!").is_err());
    }
}

//! Helpers shared by the integration tests: an in-memory store of subtree hashes, as a log keeps
//! them, and the path of the public vectors. Each test crate uses a part of it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;

use certlog_verifier::merkle::{CompactRange, Hash, HashReader, NodeId, leaf_hash};

/// The folder of the test vectors (see `verifier/tests/vectors/README.md`), from the tests of
/// any crate of the workspace.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/vectors")
}

/// Every subtree hash stored while appending leaves, as a log stores them, and the tree's edge.
#[derive(Default)]
pub struct MemoryTree {
    /// The stored hashes, by node.
    pub nodes: HashMap<NodeId, Hash>,
    /// The right edge of the tree.
    pub range: CompactRange,
}

impl MemoryTree {
    /// A tree of the given leaf hashes.
    pub fn from_leaf_hashes(leaves: &[Hash]) -> MemoryTree {
        let mut tree = MemoryTree::default();
        for leaf in leaves {
            tree.append(*leaf);
        }
        tree
    }

    /// A tree whose entries are the given byte strings.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> MemoryTree {
        let mut tree = MemoryTree::default();
        for entry in entries {
            tree.append(leaf_hash(entry));
        }
        tree
    }

    /// Appends a leaf hash, storing every hash it yields.
    pub fn append(&mut self, leaf: Hash) {
        let nodes = &mut self.nodes;
        self.range.append(leaf, |id, hash| {
            nodes.insert(id, *hash);
        });
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }
}

impl HashReader for MemoryTree {
    type Error = Infallible;

    fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
        match self.nodes.get(&node) {
            Some(hash) => Ok(*hash),
            None => panic!("no stored hash for {node:?}"),
        }
    }
}

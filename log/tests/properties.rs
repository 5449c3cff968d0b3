//! Property tests: RFC 6962 proofs over random trees (and against rs_merkle, an independent second
//! implementation), and the parsers on arbitrary and on valid generated input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../verifier/tests/common/mod.rs"]
mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use certlog_log::entry_bundle::{encode_entry_bundle, parse_entry_bundle};
use certlog_log::tiles::{TileId, TileLevel};
use certlog_verifier::merkle::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, node_hash, root_of, tree_root,
    verify_consistency, verify_inclusion,
};
use certlog_verifier::{Checkpoint, KeyType, Note, SignedCheckpoint, SigningKey, VerifierKey};
use common::MemoryTree;

/// The largest tree the Merkle properties build.
const MAX_SIZE: u64 = 3000;

/// Cases for properties that build a tree: enough to cover the shapes, few enough that the file
/// runs in seconds without optimisation.
fn tree_config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    }
}

/// Cases for properties that sign (Ed25519 is slow without optimisation).
fn signing_config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    }
}

/// A tree size: half the time a small tree, where the shapes change fastest, else up to
/// [`MAX_SIZE`].
fn tree_size() -> impl Strategy<Value = u64> {
    prop_oneof![1..=300u64, 1..=MAX_SIZE]
}

/// Cases for the cheap parser properties.
fn parser_config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// The leaf hash of entry `i` of a tree drawn with `seed`: distinct for every `i`.
fn leaf(seed: u64, i: u64) -> Hash {
    let mut entry = [0u8; 16];
    entry[..8].copy_from_slice(&seed.to_be_bytes());
    entry[8..].copy_from_slice(&i.to_be_bytes());
    leaf_hash(&entry)
}

fn tree(seed: u64, size: u64) -> MemoryTree {
    let leaves: Vec<Hash> = (0..size).map(|i| leaf(seed, i)).collect();
    MemoryTree::from_leaf_hashes(&leaves)
}

/// `hash` with bit `bit` (0..256) flipped.
fn flipped(hash: &Hash, bit: usize) -> Hash {
    let mut h = *hash;
    h.0[bit / 8] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(tree_config())]

    /// Every inclusion proof verifies; any flipped bit, another index, another size (with that
    /// size's true root) or another root makes it fail.
    #[test]
    fn inclusion_proofs(
        seed in any::<u64>(),
        size in tree_size(),
        index_pick in any::<u64>(),
        other_pick in any::<u64>(),
        size_pick in tree_size(),
        bits in vec(0..256usize, 64),
        bad_root in any::<[u8; 32]>(),
    ) {
        let index = index_pick % size;
        let big = tree(seed, size.max(size_pick));
        let root = tree_root(size, &big).unwrap();
        let proof = inclusion_proof(index, size, &big).unwrap();
        let leaf = leaf(seed, index);
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

        for (i, bit) in bits.iter().take(proof.len()).enumerate() {
            let mut bad = proof.clone();
            bad[i] = flipped(&bad[i], *bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err(), "hash {}", i);
        }
        prop_assert!(verify_inclusion(&flipped(&leaf, bits[0]), index, size, &proof, &root).is_err());

        // Another index of the same tree.
        if size > 1 {
            let other = (index + 1 + other_pick % (size - 1)) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        // Another size, with the root of that size: the proof is for one tree only.
        let other_size = size_pick.max(index + 1);
        if other_size != size {
            let other_root = tree_root(other_size, &big).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err());
        }
        // Twice the size never has a path of the same length, whatever the root.
        prop_assert!(verify_inclusion(&leaf, index, size * 2, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, size, size, &proof, &root).is_err());
        // Another root.
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &Hash(bad_root)).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flipped(&root, bits[1])).is_err());
        // A hash more or less.
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
    }

    /// Every consistency proof verifies; any flipped bit, other sizes (with their true roots) or
    /// other roots make it fail.
    #[test]
    fn consistency_proofs(
        seed in any::<u64>(),
        size2 in tree_size(),
        size1_pick in any::<u64>(),
        other_pick in any::<u64>(),
        bits in vec(0..256usize, 64),
    ) {
        let size1 = size1_pick % (size2 + 1);
        let tree = tree(seed, size2);
        let root1 = tree_root(size1, &tree).unwrap();
        let root2 = tree_root(size2, &tree).unwrap();
        let proof = consistency_proof(size1, size2, &tree).unwrap();
        prop_assert_eq!(verify_consistency(size1, size2, &root1, &root2, &proof), Ok(()));

        if size1 == 0 || size1 == size2 {
            // The trivial cases: an empty proof, and equal roots for equal sizes.
            prop_assert!(proof.is_empty());
            prop_assert!(
                verify_consistency(size1, size2, &root1, &root2, &[root2]).is_err()
            );
            if size1 == size2 {
                let other = flipped(&root2, bits[0]);
                prop_assert!(verify_consistency(size1, size2, &root1, &other, &[]).is_err());
            }
            return Ok(());
        }

        for (i, bit) in bits.iter().take(proof.len()).enumerate() {
            let mut bad = proof.clone();
            bad[i] = flipped(&bad[i], *bit);
            prop_assert!(
                verify_consistency(size1, size2, &root1, &root2, &bad).is_err(),
                "hash {}", i
            );
        }
        // Another old size (1..size2), with its true root.
        let other1 = 1 + other_pick % (size2 - 1);
        if other1 != size1 {
            let other_root = tree_root(other1, &tree).unwrap();
            prop_assert!(verify_consistency(other1, size2, &other_root, &root2, &proof).is_err());
        }
        // Another new size (size1..=size2, other than size2), with its true root.
        let other2 = size1 + other_pick % (size2 - size1);
        let other_root = tree_root(other2, &tree).unwrap();
        prop_assert!(verify_consistency(size1, other2, &root1, &other_root, &proof).is_err());
        prop_assert!(verify_consistency(size1, size2 * 2, &root1, &root2, &proof).is_err());
        // Other roots.
        prop_assert!(
            verify_consistency(size1, size2, &flipped(&root1, bits[0]), &root2, &proof).is_err()
        );
        prop_assert!(
            verify_consistency(size1, size2, &root1, &flipped(&root2, bits[1]), &proof).is_err()
        );
        prop_assert!(verify_consistency(size1, size2, &root2, &root1, &proof).is_err());
        // A hash more or less.
        let mut longer = proof.clone();
        longer.push(root1);
        prop_assert!(verify_consistency(size1, size2, &root1, &root2, &longer).is_err());
        prop_assert!(verify_consistency(size1, size2, &root1, &root2, &proof[1..]).is_err());
    }

    /// Roots and single-leaf inclusion proofs agree with rs_merkle.
    #[test]
    fn agrees_with_rs_merkle(
        seed in any::<u64>(),
        size in tree_size(),
        index_pick in any::<u64>(),
    ) {
        let index = index_pick % size;
        let leaves: Vec<Hash> = (0..size).map(|i| leaf(seed, i)).collect();
        let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
        let theirs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&raw);
        let ours = MemoryTree::from_leaf_hashes(&leaves);

        let root = root_of(&leaves);
        prop_assert_eq!(theirs.root(), Some(root.0));
        prop_assert_eq!(tree_root(size, &ours).unwrap(), root);

        let their_proof = theirs.proof(&[index as usize]);
        let our_proof = inclusion_proof(index, size, &ours).unwrap();
        let our_raw: Vec<[u8; 32]> = our_proof.iter().map(|h| h.0).collect();
        prop_assert_eq!(their_proof.proof_hashes(), our_raw.as_slice());
        // Each verifies the other's proof.
        let theirs_as_ours: Vec<Hash> = their_proof.proof_hashes().iter().map(|h| Hash(*h)).collect();
        prop_assert_eq!(
            verify_inclusion(&leaves[index as usize], index, size, &theirs_as_ours, &root),
            Ok(())
        );
        let ours_as_theirs = rs_merkle::MerkleProof::<Rfc6962>::new(our_raw);
        prop_assert!(ours_as_theirs.verify(root.0, &[index as usize], &[raw[index as usize]], size as usize));
    }
}

/// RFC 6962 hashing for rs_merkle. Leaves are given already hashed (SHA-256(0x00 || entry));
/// interior nodes are SHA-256(0x01 || left || right), computed by certlog's own `node_hash`. A
/// node without a right sibling (the last of an odd layer) is carried up unchanged, as
/// rs_merkle's default does: building layers bottom up that way gives the RFC 6962 tree, whose
/// left subtree is always the largest power of two below the size.
#[derive(Clone)]
struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => node_hash(&Hash(*left), &Hash(*right)).0,
            None => *left,
        }
    }
}

#[test]
fn rs_merkle_hasher_is_rfc6962() {
    use rs_merkle::Hasher as _;
    // SHA-256 of nothing, and the root of the transparency-dev/merkle 8-leaf set.
    assert_eq!(
        Hash(Rfc6962::hash(b"")),
        certlog_verifier::merkle::EMPTY_ROOT
    );
    let leaves: Vec<[u8; 32]> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| leaf_hash(&hex::decode(h).unwrap()).0)
    .collect();
    let tree = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves);
    assert_eq!(
        hex::encode(tree.root().unwrap()),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
}

/// Strings shaped like signed notes, to reach past the first checks.
fn note_like() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9 ./+]{0,12}\n){0,4}\n?(\u{2014} [a-z.+]{0,8} [A-Za-z0-9+/=]{0,96}\n?){0,3}"
}

/// Strings shaped like checkpoint bodies.
fn checkpoint_like() -> impl Strategy<Value = String> {
    "[a-z./]{0,10}\n[0-9+-]{0,21}\n[A-Za-z0-9+/=]{0,46}\n?([a-z ]{0,5}\n){0,2}"
}

/// Strings shaped like tile paths.
fn tile_path_like() -> impl Strategy<Value = String> {
    "/?tiles?/(entries|[0-9]{1,3}|-1)/(x?[0-9]{1,4}/){0,8}[0-9]{1,4}/?(\\.p/[0-9x]{0,4})?"
}

/// Strings shaped like vkeys.
fn vkey_like() -> impl Strategy<Value = String> {
    " ?[a-z.+ ]{0,10}\\+[0-9a-fA-F]{7,9}\\+[AB][A-Za-z0-9+/]{40,46}={0,2}\\+?"
}

/// A checkpoint origin: one non-empty line without control characters.
fn origin() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./_\u{e9}-]{1,40}"
}

/// A key name: no space, no '+'.
fn key_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./_-]{1,30}"
}

fn key_type() -> impl Strategy<Value = KeyType> {
    prop_oneof![Just(KeyType::Ed25519), Just(KeyType::CosignatureV1)]
}

fn tile_id() -> impl Strategy<Value = TileId> {
    let level = prop_oneof![
        (0..=63u8).prop_map(TileLevel::Hashes),
        Just(TileLevel::Entries)
    ];
    let index = prop_oneof![any::<u64>(), 0..2000u64];
    (level, index, 1..=256u16).prop_map(|(level, index, width)| TileId {
        level,
        index,
        width,
    })
}

/// Up to 256 entries, mostly small, sometimes of the largest size.
fn entries() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let entry = prop_oneof![
        8 => vec(any::<u8>(), 0..64),
        1 => any::<u8>().prop_map(|b| vec![b; 65_535]),
    ];
    prop_oneof![
        vec(entry.clone(), 0..8),
        vec(vec(any::<u8>(), 0..4), 0..=256)
    ]
}

proptest! {
    #![proptest_config(parser_config())]

    #[test]
    fn note_parse_never_panics(bytes in vec(any::<u8>(), 0..400), text in note_like()) {
        let _ = Note::parse(&bytes);
        if let Ok(note) = Note::parse(text.as_bytes()) {
            // What parses formats back to the same bytes.
            prop_assert_eq!(note.to_text(), text);
        }
    }

    #[test]
    fn signed_checkpoint_verify_never_panics(bytes in vec(any::<u8>(), 0..400), text in note_like()) {
        let key = SigningKey::from_seed("example.com/log", KeyType::Ed25519, &[9; 32]).unwrap();
        let vkey = key.verifier_key();
        prop_assert!(SignedCheckpoint::verify(&bytes, &vkey).is_err());
        prop_assert!(SignedCheckpoint::verify(text.as_bytes(), &vkey).is_err());
    }

    #[test]
    fn checkpoint_parse_never_panics(any_text in any::<String>(), text in checkpoint_like()) {
        let _ = Checkpoint::parse(&any_text);
        if let Ok(checkpoint) = Checkpoint::parse(&text) {
            prop_assert_eq!(checkpoint.to_text(), text);
        }
    }

    #[test]
    fn tile_path_parse_never_panics(any_text in any::<String>(), text in tile_path_like()) {
        if let Ok(tile) = TileId::parse_path(&any_text) {
            prop_assert_eq!(tile.path(), any_text);
        }
        // Only the canonical path of a tile parses.
        if let Ok(tile) = TileId::parse_path(&text) {
            prop_assert_eq!(tile.path(), text);
        }
    }

    #[test]
    fn entry_bundle_parse_never_panics(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(entries) = parse_entry_bundle(&bytes) {
            // A bundle that parses is the encoding of what it holds.
            prop_assert_eq!(encode_entry_bundle(entries).unwrap(), bytes);
        }
    }

    #[test]
    fn vkey_parse_never_panics(any_text in any::<String>(), text in vkey_like()) {
        let _ = any_text.parse::<VerifierKey>();
        if let Ok(vkey) = text.parse::<VerifierKey>() {
            prop_assert_eq!(vkey.to_string(), text.trim());
        }
        let _ = SigningKey::from_private_string(&any_text);
        let _ = SigningKey::from_private_string(&format!("PRIVATE+KEY+{text}"));
    }

    #[test]
    fn tile_ids_round_trip(tile in tile_id()) {
        prop_assert_eq!(TileId::parse_path(&tile.path()), Ok(tile));
    }

    #[test]
    fn entry_bundles_round_trip(entries in entries()) {
        let bundle = encode_entry_bundle(entries.iter().map(Vec::as_slice)).unwrap();
        let parsed = parse_entry_bundle(&bundle).unwrap();
        prop_assert_eq!(parsed.len(), entries.len());
        for (got, want) in parsed.iter().zip(&entries) {
            prop_assert_eq!(*got, want.as_slice());
        }
    }
}

proptest! {
    #![proptest_config(signing_config())]

    #[test]
    fn checkpoints_round_trip(
        origin in origin(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        seed in any::<[u8; 32]>(),
    ) {
        let checkpoint = Checkpoint::new(origin.clone(), size, Hash(root));
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint.clone()));
        let key = SigningKey::from_seed(&origin, KeyType::Ed25519, &seed).unwrap();
        let signed = checkpoint.sign(&key).unwrap();
        let opened = SignedCheckpoint::verify(signed.to_text().as_bytes(), &key.verifier_key());
        prop_assert_eq!(opened, Ok(signed));
    }

    #[test]
    fn keys_round_trip(name in key_name(), key_type in key_type(), seed in any::<[u8; 32]>()) {
        let key = SigningKey::from_seed(&name, key_type, &seed).unwrap();
        let private = SigningKey::from_private_string(&key.to_private_string()).unwrap();
        prop_assert_eq!(private.verifier_key(), key.verifier_key());
        let vkey = key.verifier_key();
        prop_assert_eq!(vkey.to_string().parse::<VerifierKey>(), Ok(vkey));
    }

    #[test]
    fn signed_notes_round_trip(
        lines in vec("[a-zA-Z0-9 ./+\u{2014}]{0,20}", 1..5),
        name in key_name(),
        seed in any::<[u8; 32]>(),
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let key = SigningKey::from_seed(&name, KeyType::Ed25519, &seed).unwrap();
        let mut note = Note::new(text.clone()).unwrap();
        note.add_signature(key.sign_note(&text).unwrap());
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        prop_assert_eq!(parsed.text(), text.as_str());
        prop_assert_eq!(parsed.verify(&[&key.verifier_key()]).map(|s| s.len()), Ok(1));
    }
}

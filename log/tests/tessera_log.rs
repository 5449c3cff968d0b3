//! A complete C2SP tlog-tiles log written by another implementation: the 15-entry log of
//! transparency-dev/tessera (`testdata/log/`, Apache-2.0), copied into `tests/vectors/tessera-log/`.
//! Its checkpoints, tiles and entry bundles are rebuilt here from the entries and compared byte
//! for byte, and proofs generated over them verify against its signed roots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../verifier/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use certlog_log::entry_bundle::{encode_entry_bundle, parse_entry_bundle};
use certlog_log::tiles::{
    TileHashReader, TileId, TileReader, entry_bundles_at, hash_tiles_at, read_tile,
};
use certlog_verifier::merkle::{
    self, CompactRange, Hash, consistency_proof, inclusion_proof, leaf_hash, root_of,
    verify_consistency, verify_inclusion,
};
use certlog_verifier::{Checkpoint, SignedCheckpoint, SigningKey, VerifierKey};
use common::{MemoryTree, vectors_dir};

const ENTRIES: [&str; 15] = [
    "one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten", "ileven", "twelf",
    "threeten", "fourten", "fivten",
];
const ORIGIN: &str = "example.com/log/testdata";
const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const SKEY: &str =
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";

fn log_dir() -> PathBuf {
    vectors_dir().join("tessera-log")
}

fn read(path: &str) -> Vec<u8> {
    let full = log_dir().join(path);
    fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn vkey() -> VerifierKey {
    VKEY.parse().unwrap()
}

fn leaf_hashes() -> Vec<Hash> {
    ENTRIES.iter().map(|e| leaf_hash(e.as_bytes())).collect()
}

/// The log as certlog would store it: every subtree hash of the 15 entries.
fn stored() -> MemoryTree {
    MemoryTree::from_entries(ENTRIES.iter().map(|e| e.as_bytes()))
}

/// The opened checkpoint.N, N = 0..=15.
fn checkpoints() -> Vec<Checkpoint> {
    (0..=ENTRIES.len())
        .map(|n| {
            SignedCheckpoint::verify(&read(&format!("checkpoint.{n}")), &vkey())
                .unwrap_or_else(|e| panic!("checkpoint.{n}: {e}"))
                .checkpoint
        })
        .collect()
}

#[test]
fn keys_match() {
    let skey = SigningKey::from_private_string(SKEY).unwrap();
    assert_eq!(skey.verifier_key(), vkey());
    assert_eq!(vkey().to_string(), VKEY);
    assert_eq!(skey.to_private_string(), SKEY);
    assert_eq!(vkey().name(), ORIGIN);
    assert_eq!(vkey().key_id(), 0x33d7b496);
}

#[test]
fn every_checkpoint_verifies() {
    let vkey = vkey();
    for n in 0..=ENTRIES.len() {
        let signed = SignedCheckpoint::verify(&read(&format!("checkpoint.{n}")), &vkey).unwrap();
        assert_eq!(signed.checkpoint.origin, ORIGIN);
        assert_eq!(signed.checkpoint.size, n as u64);
        assert!(signed.checkpoint.extensions.is_empty());
        assert_eq!(signed.note.signatures().len(), 1);
    }
    let latest = read("checkpoint");
    assert_eq!(latest, read("checkpoint.15"));
    assert_eq!(
        SignedCheckpoint::verify(&latest, &vkey)
            .unwrap()
            .checkpoint
            .size,
        15
    );
}

#[test]
fn tampered_checkpoints_are_refused() {
    let vkey = vkey();
    let good = String::from_utf8(read("checkpoint.15")).unwrap();
    // Another size, another root, another origin: the signature no longer matches.
    for (from, to) in [
        ("\n15\n", "\n14\n"),
        ("rKbD", "rKbE"),
        ("example.com/log/testdata\n", "example.com/log/testdatb\n"),
    ] {
        let bad = good.replacen(from, to, 1);
        assert_ne!(bad, good);
        assert!(
            SignedCheckpoint::verify(bad.as_bytes(), &vkey).is_err(),
            "{from:?} -> {to:?}"
        );
    }
    // A flipped bit anywhere in the signature.
    let (body, sig_line) = good.rsplit_once("\n\n").unwrap();
    let (prefix, b64) = sig_line.trim_end().rsplit_once(' ').unwrap();
    let mut sig = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    for i in 4..sig.len() {
        sig[i] ^= 0x10;
        let line = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &sig);
        let bad = format!("{body}\n\n{prefix} {line}\n");
        assert!(
            SignedCheckpoint::verify(bad.as_bytes(), &vkey).is_err(),
            "byte {i}"
        );
        sig[i] ^= 0x10;
    }
}

#[test]
fn signing_reproduces_every_checkpoint_byte_for_byte() {
    let skey = SigningKey::from_private_string(SKEY).unwrap();
    for (n, checkpoint) in checkpoints().iter().enumerate() {
        let file = read(&format!("checkpoint.{n}"));
        let body = Checkpoint::parse(checkpoint.to_text().as_str()).unwrap();
        assert_eq!(&body, checkpoint);
        let signed = Checkpoint::new(ORIGIN, checkpoint.size, checkpoint.root)
            .sign(&skey)
            .unwrap();
        assert_eq!(
            signed.to_text(),
            String::from_utf8(file.clone()).unwrap(),
            "checkpoint.{n}"
        );
        // The same through the note API.
        let text = checkpoint.to_text();
        let mut note = certlog_verifier::Note::new(text.clone()).unwrap();
        note.add_signature(skey.sign_note(&text).unwrap());
        assert_eq!(note.to_text().as_bytes(), file, "checkpoint.{n} as a note");
    }
}

#[test]
fn roots_of_the_entries_match_the_checkpoints() {
    let leaves = leaf_hashes();
    let tree = stored();
    let mut range = CompactRange::new();
    for (n, checkpoint) in checkpoints().iter().enumerate() {
        assert_eq!(checkpoint.size, n as u64);
        assert_eq!(root_of(&leaves[..n]), checkpoint.root, "root_of, size {n}");
        assert_eq!(range.size(), n as u64);
        assert_eq!(range.root(), checkpoint.root, "CompactRange, size {n}");
        assert_eq!(
            merkle::tree_root(n as u64, &tree).unwrap(),
            checkpoint.root,
            "stored hashes, size {n}"
        );
        if n < leaves.len() {
            range.append(leaves[n], |_, _| {});
        }
    }
}

#[test]
fn hash_tiles_match_byte_for_byte() {
    let tree = stored();
    for n in 1..=ENTRIES.len() as u16 {
        let tile = TileId::hashes(0, 0, n);
        assert_eq!(tile.path(), format!("tile/0/000.p/{n}"));
        // The tiles of a tree of n leaves are that one partial tile.
        assert_eq!(hash_tiles_at(u64::from(n)).collect::<Vec<_>>(), [tile]);
        assert_eq!(
            read_tile(tile, &tree).unwrap(),
            read(&tile.path()),
            "{tile}"
        );
    }
}

#[test]
fn entry_bundles_match_byte_for_byte() {
    for n in 1..=ENTRIES.len() {
        let bundle = TileId::entries(0, n as u16);
        assert_eq!(entry_bundles_at(n as u64).collect::<Vec<_>>(), [bundle]);
        let file = read(&bundle.path());
        let entries: Vec<&[u8]> = ENTRIES[..n].iter().map(|e| e.as_bytes()).collect();
        assert_eq!(
            encode_entry_bundle(entries.iter().copied()).unwrap(),
            file,
            "{bundle}"
        );
        assert_eq!(parse_entry_bundle(&file).unwrap(), entries, "{bundle}");
    }
}

/// Every file under `dir`, as paths relative to `base` with `/` separators.
fn relative_files(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            relative_files(base, &path, out);
        } else {
            let rel = path.strip_prefix(base).unwrap();
            let parts: Vec<_> = rel.iter().map(|p| p.to_str().unwrap()).collect();
            out.insert(parts.join("/"));
        }
    }
}

#[test]
fn tile_paths_parse_back_and_are_exactly_the_published_tiles() {
    let mut files = BTreeSet::new();
    relative_files(&log_dir(), &log_dir().join("tile"), &mut files);
    assert_eq!(files.len(), 30);
    for path in &files {
        let tile = TileId::parse_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&tile.path(), path);
    }
    // Tessera published exactly the tiles and bundles that every size from 1 to 15 has.
    let expected: BTreeSet<String> = (1..=ENTRIES.len() as u64)
        .flat_map(|n| hash_tiles_at(n).chain(entry_bundles_at(n)))
        .map(|tile| tile.path())
        .collect();
    assert_eq!(files, expected);
}

/// Reads hash tiles from the Tessera files, as a client downloading them would.
struct TesseraTiles {
    size: u64,
}

impl TileReader for TesseraTiles {
    type Tile = Vec<u8>;
    type Error = io::Error;

    fn read_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Vec<u8>, io::Error> {
        // The only hash tiles of a tree under 256 leaves: level 0, index 0, width = size.
        assert_eq!((level, index), (0, 0));
        assert!(u64::from(min_width) <= self.size);
        fs::read(log_dir().join(TileId::hashes(0, 0, self.size as u16).path()))
    }
}

#[test]
fn inclusion_proofs_of_every_entry_at_every_size() {
    let tree = stored();
    let leaves = leaf_hashes();
    let checkpoints = checkpoints();
    for size in 1..=ENTRIES.len() as u64 {
        let root = checkpoints[size as usize].root;
        let tiles = TileHashReader(TesseraTiles { size });
        for index in 0..size {
            let proof = inclusion_proof(index, size, &tree).unwrap();
            let leaf = &leaves[index as usize];
            assert_eq!(
                verify_inclusion(leaf, index, size, &proof, &root),
                Ok(()),
                "entry {index} at size {size}"
            );
            // The same proof from Tessera's own tiles.
            assert_eq!(inclusion_proof(index, size, &tiles).unwrap(), proof);
            // Another entry's leaf does not verify.
            let other = &leaves[(index as usize + 1) % ENTRIES.len()];
            assert!(verify_inclusion(other, index, size, &proof, &root).is_err());
        }
    }
}

#[test]
fn consistency_proofs_between_every_pair_of_checkpoints() {
    let tree = stored();
    let checkpoints = checkpoints();
    for old in &checkpoints {
        for new in &checkpoints[old.size as usize..] {
            let proof = consistency_proof(old.size, new.size, &tree).unwrap();
            assert_eq!(
                verify_consistency(old.size, new.size, &old.root, &new.root, &proof),
                Ok(()),
                "{} -> {}",
                old.size,
                new.size
            );
            let tiles = TileHashReader(TesseraTiles { size: new.size });
            assert_eq!(
                consistency_proof(old.size, new.size, &tiles).unwrap(),
                proof
            );
            // Against the wrong old root, it fails (except from the empty tree, which every
            // tree extends, and between equal sizes, where the roots must simply be equal).
            if old.size > 0 && old.size < new.size {
                let wrong = &checkpoints[old.size as usize - 1].root;
                assert!(verify_consistency(old.size, new.size, wrong, &new.root, &proof).is_err());
            }
        }
    }
}

//! C2SP tlog-tiles: tile paths (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), which tiles
//! a tree size has, tile contents from stored hashes, and stored hashes read back from tiles.
//!
//! The tile at level `L` and index `N` holds up to 256 consecutive Merkle tree hashes of height
//! `8 * L`, from position `256 * N`: level 0 holds leaf hashes. Heights between are recomputed
//! from the tile below, so a log stores only these hashes and still reads any subtree hash.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use certlog_verifier::merkle::{Hash, HashReader, NodeId, node_hash, root_of};

/// Heights of the tree per tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// The highest tile level.
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    /// Merkle tree hashes of height `8 * level`.
    Hashes(u8),
    /// An entry bundle: the entries under the level-0 tile of the same index.
    Entries,
}

/// A tile or entry bundle, full (width 256) or partial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hashes of a level, or entries.
    pub level: TileLevel,
    /// Position among the tiles of that level.
    pub index: u64,
    /// Hashes or entries in it, 1 to 256.
    pub width: u16,
}

/// Why a tile path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    /// The path does not start with `tile/`.
    #[error("not a tile path: {0:?}")]
    NotATile(String),
    /// The level is not 0 to 63 written without leading zeros, nor `entries`.
    #[error("invalid tile level in {0:?}")]
    InvalidLevel(String),
    /// The index is not written in canonical 3-digit groups.
    #[error("invalid tile index in {0:?}")]
    InvalidIndex(String),
    /// The width is not 1 to 255 written without leading zeros.
    #[error("invalid partial tile width in {0:?}")]
    InvalidWidth(String),
}

impl TileId {
    /// A hash tile.
    pub const fn hashes(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            level: TileLevel::Hashes(level),
            index,
            width,
        }
    }

    /// An entry bundle.
    pub const fn entries(index: u64, width: u16) -> TileId {
        TileId {
            level: TileLevel::Entries,
            index,
            width,
        }
    }

    /// Whether the tile holds 256 hashes or entries.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The height of the tree hashes the tile holds (0 for entry bundles and level 0).
    pub fn hash_height(&self) -> u32 {
        match self.level {
            TileLevel::Hashes(l) => u32::from(l) * u32::from(TILE_HEIGHT),
            TileLevel::Entries => 0,
        }
    }

    /// The position of the first hash (or entry) in the tile, among those of its height.
    pub fn first_position(&self) -> u64 {
        self.index.saturating_mul(u64::from(TILE_WIDTH))
    }

    /// The tile's URL path, relative to the log prefix: `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let level = match self.level {
            TileLevel::Hashes(l) => format!("{l}"),
            TileLevel::Entries => "entries".into(),
        };
        let mut path = format!("tile/{level}/{}", index_path(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a tile path relative to the log prefix. Only the canonical form is accepted, so
    /// that one tile has one path.
    pub fn parse_path(path: &str) -> Result<TileId, TilePathError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| TilePathError::NotATile(path.into()))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| TilePathError::NotATile(path.into()))?;
        let level = if level == "entries" {
            TileLevel::Entries
        } else {
            match parse_decimal(level) {
                Some(l) if l <= u64::from(MAX_TILE_LEVEL) => TileLevel::Hashes(l as u8),
                _ => return Err(TilePathError::InvalidLevel(path.into())),
            }
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => match parse_decimal(width) {
                Some(w @ 1..=255) => (index, w as u16),
                _ => return Err(TilePathError::InvalidWidth(path.into())),
            },
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index).ok_or_else(|| TilePathError::InvalidIndex(path.into()))?;
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    /// Whether this tile, with its width, can be served for a tree of `size` leaves: the tree has
    /// at least `256 * index + width` hashes (or entries) at the tile's height.
    pub fn exists_at(&self, size: u64) -> bool {
        let available = size.checked_shr(self.hash_height()).unwrap_or(0);
        self.first_position()
            .checked_add(u64::from(self.width))
            .is_some_and(|end| end <= available)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// `N` as 3-digit groups, all but the last prefixed with `x`: 1234067 -> `x001/x234/067`.
fn index_path(mut index: u64) -> String {
    let mut groups = Vec::new();
    loop {
        groups.push(index % 1000);
        index /= 1000;
        if index == 0 {
            break;
        }
    }
    let mut path = String::new();
    for (i, group) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            path.push_str(&format!("x{group:03}/"));
        } else {
            path.push_str(&format!("{group:03}"));
        }
    }
    path
}

fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, init) = groups.split_last()?;
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < init.len() {
            group.strip_prefix('x')?
        } else {
            last
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    // Canonical: no leading zero groups, which would give one tile two paths.
    (index_path(index) == text).then_some(index)
}

fn parse_decimal(text: &str) -> Option<u64> {
    certlog_verifier::checkpoint::parse_tree_size(text)
}

/// Every hash tile a tree of `size` leaves has, level by level: the full tiles, then the partial
/// one when the level's width is not a multiple of 256.
pub fn hash_tiles_at(size: u64) -> impl Iterator<Item = TileId> {
    (0..=MAX_TILE_LEVEL)
        .map(move |level| (level, size.checked_shr(u32::from(level) * 8).unwrap_or(0)))
        .take_while(|&(_, count)| count > 0)
        .flat_map(|(level, count)| {
            tiles_of_width(count).map(move |(i, w)| TileId::hashes(level, i, w))
        })
}

/// Every entry bundle a tree of `size` leaves has.
pub fn entry_bundles_at(size: u64) -> impl Iterator<Item = TileId> {
    tiles_of_width(size).map(|(i, w)| TileId::entries(i, w))
}

/// The (index, width) of the tiles that hold `count` consecutive items from position 0.
fn tiles_of_width(count: u64) -> impl Iterator<Item = (u64, u16)> {
    let full = count / u64::from(TILE_WIDTH);
    let partial = (count % u64::from(TILE_WIDTH)) as u16;
    (0..full)
        .map(|i| (i, TILE_WIDTH))
        .chain((partial > 0).then_some((full, partial)))
}

/// The bytes of a hash tile, read from stored hashes: its hashes, 32 bytes each.
pub fn read_tile<R: HashReader>(tile: TileId, reader: &R) -> Result<Vec<u8>, R::Error> {
    let height = tile.hash_height() as u8;
    let mut bytes = Vec::with_capacity(usize::from(tile.width) * Hash::LEN);
    for i in 0..u64::from(tile.width) {
        let hash = reader.read_hash(NodeId::new(height, tile.first_position() + i))?;
        bytes.extend_from_slice(hash.as_bytes());
    }
    Ok(bytes)
}

/// Why a tile's bytes are not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError<E> {
    /// The tile source failed.
    #[error("reading tile: {0}")]
    Read(E),
    /// The tile is not a whole number of hashes, or has more than 256.
    #[error("tile of {0} bytes is not 1 to 256 hashes")]
    BadLength(usize),
    /// The tile does not reach the hash asked for.
    #[error("tile {tile} has {have} hashes, position {need} needed")]
    TooShort {
        /// The tile read.
        tile: TileId,
        /// Hashes it has.
        have: usize,
        /// Hashes needed.
        need: usize,
    },
}

/// Splits a tile's bytes into hashes.
pub fn tile_hashes<E>(bytes: &[u8]) -> Result<Vec<Hash>, TileError<E>> {
    check_tile_length(bytes)?;
    Ok(bytes
        .chunks_exact(Hash::LEN)
        .filter_map(Hash::from_slice)
        .collect())
}

fn check_tile_length<E>(bytes: &[u8]) -> Result<usize, TileError<E>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(Hash::LEN) || bytes.len() > Hash::LEN * 256 {
        return Err(TileError::BadLength(bytes.len()));
    }
    Ok(bytes.len() / Hash::LEN)
}

/// A source of hash tiles: a log's storage, or a client downloading them.
pub trait TileReader {
    /// The tile's bytes, owned or shared (a cache can hand out the same tile many times).
    type Tile: AsRef<[u8]>;
    /// Why a tile could not be read.
    type Error;

    /// The bytes of hash tile `level`/`index`, at least `min_width` hashes wide (the full tile
    /// or any partial one at least that wide will do).
    fn read_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Self::Tile, Self::Error>;
}

/// Reads any subtree hash from tiles: the hashes at a tile's height are in it, those between
/// heights are recomputed from the tile below.
#[derive(Clone, Debug)]
pub struct TileHashReader<T>(pub T);

impl<T: TileReader> HashReader for TileHashReader<T> {
    type Error = TileError<T::Error>;

    fn read_hash(&self, node: NodeId) -> Result<Hash, Self::Error> {
        let at = NodeInTile::of(node);
        let tile = self
            .0
            .read_tile(at.level, at.tile, at.need() as u16)
            .map_err(TileError::Read)?;
        let bytes = tile.as_ref();
        let have = check_tile_length(bytes)?;
        if have < at.need() {
            return Err(at.too_short(have));
        }
        let hashes: Vec<Hash> = bytes[at.first() * Hash::LEN..at.need() * Hash::LEN]
            .chunks_exact(Hash::LEN)
            .filter_map(Hash::from_slice)
            .collect();
        Ok(root_of(&hashes))
    }
}

/// Where a subtree's hash comes from: the hash tile whose hashes it covers, and its place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeInTile {
    /// The tile's level: the subtree's height divided by 8.
    pub level: u8,
    /// The tile's index.
    pub tile: u64,
    /// The subtree's height above the tile's hashes, 0 to 7.
    pub height: u8,
    /// The subtree's position among those of its height in the tile.
    pub position: usize,
}

impl NodeInTile {
    /// The place of `node`, which covers `2^height` consecutive hashes of one tile.
    pub fn of(node: NodeId) -> NodeInTile {
        let height = node.level % TILE_HEIGHT;
        let first = node.index << height;
        NodeInTile {
            level: node.level / TILE_HEIGHT,
            tile: first / u64::from(TILE_WIDTH),
            height,
            position: ((first % u64::from(TILE_WIDTH)) >> height) as usize,
        }
    }

    /// The first of the tile's hashes under the subtree.
    pub fn first(&self) -> usize {
        self.position << self.height
    }

    /// How many hashes the tile needs to hold the whole subtree.
    pub fn need(&self) -> usize {
        (self.position + 1) << self.height
    }

    /// The error for a tile of `have` hashes that does not reach the subtree.
    pub fn too_short<E>(&self, have: usize) -> TileError<E> {
        TileError::TooShort {
            tile: TileId::hashes(self.level, self.tile, have as u16),
            have,
            need: self.need(),
        }
    }
}

/// Every complete subtree within one hash tile: its hashes, and above them the hashes of
/// heights 1 to 8 that they fill (all 511 of a full tile), so that any of them is a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileNodes {
    /// `rows[h]` holds the `width >> h` subtrees of height `h`, from the left.
    rows: Vec<Vec<Hash>>,
}

impl TileNodes {
    /// The subtrees of a tile's bytes.
    pub fn new<E>(bytes: &[u8]) -> Result<TileNodes, TileError<E>> {
        let mut rows = vec![tile_hashes(bytes)?];
        while let Some(row) = rows.last()
            && row.len() > 1
        {
            let above = row
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            rows.push(above);
        }
        Ok(TileNodes { rows })
    }

    /// The number of hashes in the tile.
    pub fn width(&self) -> usize {
        self.rows[0].len()
    }

    /// The tile's hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.rows[0]
    }

    /// The hash of the subtree of `height` at `position` among those of its height, if the
    /// tile holds all of it.
    pub fn node(&self, height: u8, position: usize) -> Option<Hash> {
        self.rows.get(usize::from(height))?.get(position).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;
    use certlog_verifier::merkle::{CompactRange, leaf_hash, tree_root};
    use core::cell::RefCell;
    use core::convert::Infallible;

    #[test]
    fn index_paths_of_the_spec() {
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(
            TileId::hashes(0, 1234067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(TileId::entries(0, 255).path(), "tile/entries/000.p/255");
        assert_eq!(
            TileId::hashes(63, u64::MAX, 1).path(),
            "tile/63/x018/x446/x744/x073/x709/x551/615.p/1"
        );
    }

    #[test]
    fn paths_parse_back() {
        for tile in [
            TileId::hashes(0, 1234067, 256),
            TileId::hashes(1, 0, 17),
            TileId::hashes(63, u64::MAX, 255),
            TileId::entries(0, 255),
            TileId::entries(999, 256),
            TileId::entries(1000, 1),
        ] {
            assert_eq!(TileId::parse_path(&tile.path()), Ok(tile), "{tile}");
        }
    }

    #[test]
    fn malformed_paths_are_refused() {
        use TilePathError::*;
        type Case = (&'static str, fn(String) -> TilePathError);
        let cases: &[Case] = &[
            ("tiles/0/000", NotATile),
            ("tile/0", NotATile),
            ("/tile/0/000", NotATile),
            ("tile/64/000", InvalidLevel),
            ("tile/01/000", InvalidLevel),
            ("tile/-1/000", InvalidLevel),
            ("tile/entry/000", InvalidLevel),
            ("tile/0/1", InvalidIndex),
            ("tile/0/0000", InvalidIndex),
            ("tile/0/x000/001", InvalidIndex),
            ("tile/0/001/234", InvalidIndex),
            ("tile/0/x001/x234", InvalidIndex),
            ("tile/0/x001/23a", InvalidIndex),
            ("tile/0/x018/x446/x744/x073/x709/x551/616", InvalidIndex),
            ("tile/0/../../etc/passwd", InvalidIndex),
            ("tile/0/000/", InvalidIndex),
            ("tile/0/", InvalidIndex),
            ("tile/0/000.p/0", InvalidWidth),
            ("tile/0/000.p/256", InvalidWidth),
            ("tile/0/000.p/08", InvalidWidth),
            ("tile/0/000.p/", InvalidWidth),
            ("tile/entries/000.p/x", InvalidWidth),
        ];
        for (path, want) in cases {
            assert_eq!(
                TileId::parse_path(path),
                Err(want(path.to_string())),
                "{path}"
            );
        }
    }

    #[test]
    fn tiles_of_the_spec_example_tree() {
        // A tree of 70,000 leaves: 273 full level-0 tiles and one of width 112, one full level-1
        // tile and one of width 17, and a level-2 tile of width 1.
        let tiles: Vec<TileId> = hash_tiles_at(70_000).collect();
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        assert_eq!(tiles[273], TileId::hashes(0, 273, 112));
        assert_eq!(
            tiles[274..],
            [
                TileId::hashes(1, 0, 256),
                TileId::hashes(1, 1, 17),
                TileId::hashes(2, 0, 1)
            ]
        );
        assert_eq!(
            hash_tiles_at(256).collect::<Vec<_>>(),
            [TileId::hashes(0, 0, 256), TileId::hashes(1, 0, 1)]
        );
        assert_eq!(hash_tiles_at(0).count(), 0);
        assert_eq!(
            entry_bundles_at(257).collect::<Vec<_>>(),
            [TileId::entries(0, 256), TileId::entries(1, 1)]
        );
        for tile in hash_tiles_at(70_000) {
            assert!(tile.exists_at(70_000), "{tile}");
        }
        assert!(!TileId::hashes(0, 273, 113).exists_at(70_000));
        assert!(!TileId::hashes(2, 0, 2).exists_at(70_000));
        assert!(!TileId::hashes(63, u64::MAX, 255).exists_at(u64::MAX));
    }

    /// Hashes stored by appending leaves, and the tiles made of them.
    struct Stored(BTreeMap<NodeId, Hash>, RefCell<usize>);

    impl HashReader for Stored {
        type Error = Infallible;
        fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
            Ok(self.0[&node])
        }
    }

    impl TileReader for &Stored {
        type Tile = Vec<u8>;
        type Error = Infallible;
        fn read_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Vec<u8>, Infallible> {
            *self.1.borrow_mut() += 1;
            read_tile(TileId::hashes(level, index, min_width), *self)
        }
    }

    #[test]
    fn subtree_hashes_read_back_from_tiles() {
        let mut stored = Stored(BTreeMap::new(), RefCell::new(0));
        let mut range = CompactRange::new();
        for i in 0..70_000u64 {
            range.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                stored.0.insert(id, *h);
            });
        }
        let tiles = TileHashReader(&stored);
        for size in [1, 255, 256, 257, 65_536, 65_537, 69_999, 70_000] {
            assert_eq!(
                tree_root(size, &tiles),
                tree_root(size, &stored).map_err(|_| unreachable!())
            );
        }
        // Heights between tile levels come from one tile read each.
        *stored.1.borrow_mut() = 0;
        assert_eq!(
            tiles.read_hash(NodeId::new(12, 3)).unwrap(),
            stored.0[&NodeId::new(12, 3)]
        );
        assert_eq!(*stored.1.borrow(), 1);
    }

    #[test]
    fn tile_nodes_hold_every_subtree_of_a_tile() {
        let mut stored = Stored(BTreeMap::new(), RefCell::new(0));
        let mut range = CompactRange::new();
        for i in 0..(256 * 256 + 300u64) {
            range.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                stored.0.insert(id, *h);
            });
        }
        // Full and partial tiles of levels 0 and 1, each subtree against the stored hash.
        for (level, index, width) in [(0u8, 0u64, 256u16), (0, 256, 44), (0, 3, 1), (1, 0, 256)] {
            let bytes = read_tile(TileId::hashes(level, index, width), &stored).unwrap();
            let nodes = TileNodes::new::<Infallible>(&bytes).unwrap();
            assert_eq!(nodes.width(), usize::from(width));
            for height in 0..=TILE_HEIGHT {
                for position in 0..(256usize >> height) {
                    let node = NodeId::new(
                        level * TILE_HEIGHT + height,
                        ((index * 256) >> height) + position as u64,
                    );
                    let whole = (position + 1) << height <= usize::from(width);
                    assert_eq!(
                        nodes.node(height, position),
                        whole.then(|| stored.0[&node]),
                        "{node:?}"
                    );
                    if height < TILE_HEIGHT {
                        let at = NodeInTile::of(node);
                        assert_eq!((at.level, at.tile, at.height), (level, index, height));
                        assert_eq!(
                            (at.position, at.need() <= usize::from(width)),
                            (position, whole)
                        );
                    }
                }
            }
        }
        assert_eq!(
            TileNodes::new::<Infallible>(&[0; 33]),
            Err(TileError::BadLength(33))
        );
    }
}

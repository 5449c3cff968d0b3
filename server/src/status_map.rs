//! The status map as the log keeps it (DESIGN "Status map"; the algorithm is
//! [`certlog_verifier::status_map`]): the nodes of its top [`TOP_DEPTH`] levels in memory, and
//! every subtree below rebuilt, when a proof or an update needs it, from the status records in
//! storage, which are the map's keys and values, kept in key order. Storage holds no map node,
//! so an integration batch writes one record per certificate it changes and nothing more for
//! the map.
//!
//! Below depth 20 a subtree holds few keys (about ten in a map of ten million), so rebuilding
//! one is a short range read and a few dozen hashes. The top is 2^21 positions, one hash and
//! one kind each, allocated zeroed (the pages of empty positions cost no memory): about 66 MiB
//! for a full top. It also keeps the key and value of its leaves that updates wrote since the
//! start (in a map of a million keys or fewer, where most keys are), so that an update that
//! meets one need not read it. Each batch also stores the positions of the top's deepest level
//! that it changed (one small record per certificate changed, in the same atomic commit), so
//! that a start, after a clean stop or a crash alike, reads that level back and computes the
//! levels above it; the root must be the map root of the log's last map head. Without those
//! records (or should they not give that root) the top is rebuilt from every status record.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard};

use certlog_verifier::Hash;
use certlog_verifier::certificate::encoded_status_record_hash;
use certlog_verifier::entry::decode_entry;
use certlog_verifier::proto::StatusRecord;
use certlog_verifier::proto::entry::Body;
use certlog_verifier::status_map::{
    self, EMPTY, MapChanges, MapNode, MapStore, NodePath, leaf_hash, node_hash,
};
use prost::Message as _;

use crate::storage::{MapCell, StatusEncodings, Storage, StorageError};

/// The depth of the deepest level kept in memory.
pub const TOP_DEPTH: u16 = 20;

/// Status records read at a time while rebuilding the top.
const REBUILD_CHUNK: usize = 65_536;

/// What stands at a position of the top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Empty = 0,
    /// One key: its node is a leaf, whose key and value are in storage (and in
    /// [`Top::leaves`] if an update wrote it since the start).
    Leaf = 1,
    /// Two keys or more.
    Internal = 2,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        [Kind::Empty, Kind::Leaf, Kind::Internal]
            .into_iter()
            .find(|k| *k as u8 == b)
    }
}

/// One level of the top: `2^depth` positions.
struct Level {
    kinds: Vec<u8>,
    hashes: Vec<[u8; 32]>,
}

impl Level {
    fn empty(depth: u16) -> Level {
        let n = 1usize << depth;
        Level {
            kinds: vec![0; n],
            hashes: vec![[0; 32]; n],
        }
    }

    fn kind(&self, i: usize) -> Kind {
        Kind::from_byte(self.kinds[i]).unwrap_or(Kind::Empty)
    }

    fn hash(&self, i: usize) -> Hash {
        Hash(self.hashes[i])
    }

    fn set(&mut self, i: usize, kind: Kind, hash: Hash) {
        self.kinds[i] = kind as u8;
        self.hashes[i] = hash.0;
    }

    fn positions(&mut self) -> Positions<'_> {
        Positions {
            kinds: &mut self.kinds,
            hashes: &mut self.hashes,
        }
    }
}

/// The positions of a level, or a share of them: those below one node of a level above.
struct Positions<'a> {
    kinds: &'a mut [u8],
    hashes: &'a mut [[u8; 32]],
}

impl Positions<'_> {
    fn kind(&self, i: usize) -> Kind {
        Kind::from_byte(self.kinds[i]).unwrap_or(Kind::Empty)
    }
}

/// Fills each level of `levels` but the last, the deepest, from the level below it, which has
/// twice its positions (the two children of position `i` are `2i` and `2i + 1`).
fn fill_levels(levels: &mut [Positions<'_>]) {
    for depth in (0..levels.len().saturating_sub(1)).rev() {
        let (upper, lower) = levels.split_at_mut(depth + 1);
        let (level, below) = (&mut upper[depth], &lower[0]);
        for i in 0..level.kinds.len() {
            let (l, r) = (2 * i, 2 * i + 1);
            let (kind, hash) = match (below.kind(l), below.kind(r)) {
                (Kind::Empty, Kind::Empty) => (Kind::Empty, EMPTY),
                // A subtree of one key hashes to that key's leaf, wherever it stands.
                (Kind::Leaf, Kind::Empty) => (Kind::Leaf, Hash(below.hashes[l])),
                (Kind::Empty, Kind::Leaf) => (Kind::Leaf, Hash(below.hashes[r])),
                _ => (
                    Kind::Internal,
                    node_hash(&Hash(below.hashes[l]), &Hash(below.hashes[r])),
                ),
            };
            level.kinds[i] = kind as u8;
            level.hashes[i] = hash.0;
        }
    }
}

/// Reads the stored positions of the deepest level of `share` (the last of its levels), the
/// `index`th share of that level, and fills the levels above; false when a position does not
/// decode.
fn load_share(
    storage: &dyn Storage,
    index: usize,
    share: &mut [Positions<'_>],
) -> Result<bool, StorageError> {
    let Some(deepest) = share.last_mut() else {
        return Ok(true);
    };
    let width = deepest.kinds.len();
    let first = index * width;
    let positions = u32::try_from(first)
        .ok()
        .zip(u32::try_from(first + width).ok())
        .ok_or_else(|| StorageError::Corrupt("status map position beyond u32".into()))?;
    for (i, stored) in storage.map_cells(positions.0..positions.1)? {
        let decoded = usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_sub(first))
            .filter(|i| *i < width)
            .zip(decode_cell(&stored));
        let Some((i, (kind, hash))) = decoded else {
            return Ok(false);
        };
        deepest.kinds[i] = kind as u8;
        deepest.hashes[i] = hash.0;
    }
    fill_levels(share);
    Ok(true)
}

/// The number of threads that read the stored top back at a start: one per core, up to 16
/// (a power of two, so that each reads the positions below one node).
fn load_threads() -> usize {
    1 << cores().ilog2().min(4)
}

/// The machine's cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The fewest positions a thread of a read-ahead takes: fewer cost more in starting a thread
/// than they spare.
const READ_AHEAD_SHARE: usize = 64;

/// The top levels, 0 to [`TOP_DEPTH`]. Each position holds what is below it: no key, one key
/// (the kind [`Kind::Leaf`] and that key's leaf hash, at every depth down to the deepest), or
/// more (the node hash).
struct Top {
    levels: Vec<Level>,
    /// The key and value of leaves of the top, by leaf hash: those that updates wrote since the
    /// start, up to [`LEAVES_KEPT`]. An update that meets another leaf reads its key and value
    /// from the status records below it (a range read).
    leaves: HashMap<Hash, (Hash, Hash)>,
}

/// The most leaves whose key and value the top keeps: a table of 2^19 slots of 97 bytes at
/// most, 48.5 MiB. In a map of a million keys, some 390,000 of the top's deepest positions hold
/// one key; in one of ten million, a few hundred (the table shrinks as they go).
const LEAVES_KEPT: usize = 1 << 18;

/// The position of `path` in its level (`path.depth <= TOP_DEPTH`): its first bits.
fn position(path: &NodePath) -> usize {
    let first = u32::from_be_bytes([
        path.prefix.0[0],
        path.prefix.0[1],
        path.prefix.0[2],
        path.prefix.0[3],
    ]);
    (u64::from(first) >> (32 - u32::from(path.depth))) as usize
}

/// The node path of position `i` at `depth`.
fn path_at(depth: u16, i: usize) -> NodePath {
    let mut prefix = [0u8; 32];
    let bits = (i as u64) << (32 - u32::from(depth));
    prefix[..4].copy_from_slice(&(bits as u32).to_be_bytes());
    NodePath {
        depth,
        prefix: Hash(prefix),
    }
}

/// The first and last keys below `path`.
fn key_range(path: &NodePath) -> (Hash, Hash) {
    let mut last = path.prefix;
    for bit in usize::from(path.depth)..256 {
        last.0[bit / 8] |= 1 << (7 - bit % 8);
    }
    (path.prefix, last)
}

/// The position of the deepest level on `key`'s path.
fn deepest_position(key: &Hash) -> usize {
    position(&NodePath {
        depth: TOP_DEPTH,
        prefix: *key,
    })
}

/// The status records below position `at` of the deepest level, as stored.
fn records_at(storage: &dyn Storage, at: usize) -> Result<StatusEncodings, StorageError> {
    let (first, last) = key_range(&path_at(TOP_DEPTH, at));
    storage.status_encodings(&first, &last, usize::MAX)
}

/// The nodes of the subtree below position `at` of the deepest level, from its records.
fn subtree_at(at: usize, records: &[(Hash, Vec<u8>)]) -> BTreeMap<NodePath, MapNode> {
    status_map::subtree(path_at(TOP_DEPTH, at), &map_keys(records))
        .into_iter()
        .collect()
}

/// The status map's keys and values in `records`: each record hashed as stored, which is its
/// encoding.
fn map_keys(records: &[(Hash, Vec<u8>)]) -> Vec<(Hash, Hash)> {
    records
        .iter()
        .map(|(key, bytes)| (*key, encoded_status_record_hash(bytes)))
        .collect()
}

/// The keys and values below `path`, from the status records.
fn keys_below(storage: &dyn Storage, path: &NodePath) -> Result<Vec<(Hash, Hash)>, StorageError> {
    let (first, last) = key_range(path);
    Ok(map_keys(&storage.status_encodings(
        &first,
        &last,
        usize::MAX,
    )?))
}

impl Top {
    fn empty() -> Top {
        Top {
            levels: (0..=TOP_DEPTH).map(Level::empty).collect(),
            leaves: HashMap::new(),
        }
    }

    fn root(&self) -> Hash {
        self.levels[0].hash(0)
    }

    /// Fills every level above the deepest from the one below it.
    fn fill_upper_levels(&mut self) {
        fill_levels(
            &mut self
                .levels
                .iter_mut()
                .map(Level::positions)
                .collect::<Vec<_>>(),
        );
    }

    fn deepest(&mut self) -> &mut Level {
        &mut self.levels[usize::from(TOP_DEPTH)]
    }

    /// Sets a position, forgetting the key and value of a leaf that leaves the deepest level.
    fn set(&mut self, path: &NodePath, kind: Kind, hash: Hash) {
        let at = position(path);
        let level = &mut self.levels[usize::from(path.depth)];
        if path.depth == TOP_DEPTH
            && level.kind(at) == Kind::Leaf
            && (kind, hash) != (Kind::Leaf, level.hash(at))
        {
            self.leaves.remove(&level.hash(at));
        }
        level.set(at, kind, hash);
    }

    /// The top of the map whose keys and values are every status record in storage.
    fn rebuild(storage: &dyn Storage) -> Result<Top, StorageError> {
        let mut top = Top::empty();
        let last = Hash([0xff; 32]);
        let mut from = Hash([0; 32]);
        // The keys of the deepest position being gathered, and the position.
        let mut group: Vec<(Hash, Hash)> = Vec::new();
        let mut group_at = 0usize;
        let flush = |top: &mut Top, at: usize, group: &mut Vec<(Hash, Hash)>| {
            let nodes = status_map::subtree(path_at(TOP_DEPTH, at), group);
            // The subtree's root comes last.
            if let Some((_, node)) = nodes.last() {
                let kind = match node {
                    MapNode::Leaf { .. } => Kind::Leaf,
                    MapNode::Internal { .. } => Kind::Internal,
                };
                top.deepest().set(at, kind, node.hash());
            }
            group.clear();
        };
        loop {
            let chunk = map_keys(&storage.status_encodings(&from, &last, REBUILD_CHUNK)?);
            for (key, value) in &chunk {
                let at = deepest_position(key);
                if at != group_at && !group.is_empty() {
                    flush(&mut top, group_at, &mut group);
                }
                group_at = at;
                group.push((*key, *value));
            }
            match chunk.last() {
                Some((key, _)) if chunk.len() == REBUILD_CHUNK => match next_key(key) {
                    Some(next) => from = next,
                    None => break,
                },
                _ => break,
            }
        }
        if !group.is_empty() {
            flush(&mut top, group_at, &mut group);
        }
        top.fill_upper_levels();
        Ok(top)
    }

    /// The stored positions of the deepest level.
    fn cells(&self) -> Vec<(u32, MapCell)> {
        let deepest = &self.levels[usize::from(TOP_DEPTH)];
        (0..deepest.kinds.len())
            .filter(|i| deepest.kinds[*i] != Kind::Empty as u8)
            .map(|i| (i as u32, cell(deepest.kind(i), &deepest.hash(i))))
            .collect()
    }

    /// The top whose deepest level is the stored positions, or none when one does not decode.
    /// Read and hashed in `threads` shares at once (a power of two up to `2^TOP_DEPTH`), each
    /// the positions below one node: at ten million keys, a million positions to read and as
    /// many nodes to hash.
    fn load(storage: &dyn Storage, threads: usize) -> Result<Option<Top>, StorageError> {
        let mut top = Top::empty();
        let split = threads.max(1).ilog2() as usize;
        let mut shares: Vec<Vec<Positions>> = (0..1 << split).map(|_| Vec::new()).collect();
        for level in &mut top.levels[split..] {
            let width = level.kinds.len() >> split;
            let parts = level.kinds.chunks_mut(width);
            for (share, (kinds, hashes)) in shares
                .iter_mut()
                .zip(parts.zip(level.hashes.chunks_mut(width)))
            {
                share.push(Positions { kinds, hashes });
            }
        }
        let decoded = std::thread::scope(|scope| {
            let loading: Vec<_> = shares
                .into_iter()
                .enumerate()
                .map(|(index, mut share)| {
                    std::thread::Builder::new()
                        .name("status-map".into())
                        .spawn_scoped(scope, move || load_share(storage, index, &mut share))
                        .map_err(|e| {
                            StorageError::Backend(format!("a thread to read the status map: {e}"))
                        })
                })
                .collect();
            loading
                .into_iter()
                .map(|thread| {
                    thread?.join().unwrap_or_else(|_| {
                        Err(StorageError::Backend(
                            "reading the status map panicked".into(),
                        ))
                    })
                })
                .collect::<Result<Vec<bool>, StorageError>>()
        })?;
        if decoded.contains(&false) {
            return Ok(None);
        }
        fill_levels(
            &mut top.levels[..=split]
                .iter_mut()
                .map(Level::positions)
                .collect::<Vec<_>>(),
        );
        Ok(Some(top))
    }
}

/// A stored position's kind and hash (none when it does not decode or is empty).
fn decode_cell(stored: &MapCell) -> Option<(Kind, Hash)> {
    let (kind, hash) = stored.split_first()?;
    let kind = Kind::from_byte(*kind).filter(|k| *k != Kind::Empty)?;
    Some((kind, Hash::from_slice(hash)?))
}

/// A position as stored: its kind, then its hash.
fn cell(kind: Kind, hash: &Hash) -> MapCell {
    let mut cell = [0u8; 33];
    cell[0] = kind as u8;
    cell[1..].copy_from_slice(&hash.0);
    cell
}

/// The positions of the top's deepest level that the nodes of an update change, to store with
/// the batch: each node written at that depth, and the deepest position on the path of each
/// leaf written above it.
pub fn stored_cells(changes: &MapChanges) -> Vec<(u32, MapCell)> {
    let mut cells = BTreeMap::new();
    for (path, node) in changes.iter().filter(|(p, _)| p.depth <= TOP_DEPTH) {
        let (at, kind) = match node {
            MapNode::Leaf { key, .. } => (
                NodePath {
                    depth: TOP_DEPTH,
                    prefix: *key,
                },
                Kind::Leaf,
            ),
            MapNode::Internal { .. } if path.depth == TOP_DEPTH => (*path, Kind::Internal),
            MapNode::Internal { .. } => continue,
        };
        cells.insert(position(&at) as u32, cell(kind, &node.hash()));
    }
    cells.into_iter().collect()
}

/// The key right after `key`, if there is one.
fn next_key(key: &Hash) -> Option<Hash> {
    let mut next = *key;
    for byte in next.0.iter_mut().rev() {
        let (b, carry) = byte.overflowing_add(1);
        *byte = b;
        if !carry {
            return Some(next);
        }
    }
    None
}

/// The map root of the log's last map head (every batch ends with one), or the empty map's.
fn last_map_root(storage: &dyn Storage, size: u64) -> Result<Hash, StorageError> {
    if size == 0 {
        return Ok(EMPTY);
    }
    let bytes = storage
        .entry(size - 1)?
        .ok_or_else(|| StorageError::Corrupt(format!("entry {} is missing", size - 1)))?;
    match decode_entry(&bytes).map(|e| e.body) {
        Ok(Some(Body::MapHead(head))) => Hash::from_slice(&head.root)
            .ok_or_else(|| StorageError::Corrupt("the last map head's root".into())),
        _ => Err(StorageError::Corrupt(format!(
            "the last entry ({}) is not a map head",
            size - 1
        ))),
    }
}

/// The log's status map: the top in memory over the records in storage.
pub struct StatusMap {
    top: RwLock<Top>,
}

/// How [`StatusMap::open`] got the top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// From its stored positions.
    Loaded,
    /// Rebuilt from every status record (no stored positions, or ones of another state).
    Rebuilt,
}

impl StatusMap {
    /// The map of the log in `storage` (tree size `size`): its top from the stored positions,
    /// or rebuilt from the status records (and its positions stored) when they do not give the
    /// map root of the log's last map head; a rebuilt top that does not either is an error.
    pub fn open(storage: &dyn Storage, size: u64) -> Result<(StatusMap, Opened), StorageError> {
        let root = last_map_root(storage, size)?;
        let stored = Top::load(storage, load_threads())?;
        let (top, opened) = match stored.filter(|top| top.root() == root) {
            Some(top) => (top, Opened::Loaded),
            None => {
                let top = Top::rebuild(storage)?;
                if top.root() == root {
                    storage.put_map_cells(&top.cells())?;
                }
                (top, Opened::Rebuilt)
            }
        };
        if top.root() != root {
            return Err(StorageError::Corrupt(format!(
                "the status records give the map root {}, the log's last map head says {root}",
                top.root()
            )));
        }
        let map = StatusMap {
            top: RwLock::new(top),
        };
        Ok((map, opened))
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Top>, StorageError> {
        self.top
            .read()
            .map_err(|_| StorageError::Backend("status map lock poisoned".into()))
    }

    /// The root hash.
    pub fn root(&self) -> Result<Hash, StorageError> {
        Ok(self.read()?.root())
    }

    /// A view of the map over `storage` for proofs and updates; it holds the top for reading,
    /// so [`StatusMap::apply`] waits while it lives.
    pub fn view<'a>(&'a self, storage: &'a dyn Storage) -> Result<MapView<'a>, StorageError> {
        Ok(MapView {
            top: self.read()?,
            storage,
            below: RefCell::default(),
            records: RefCell::default(),
        })
    }

    /// Takes in the nodes of a committed update.
    pub fn apply(&self, changes: &MapChanges) -> Result<(), StorageError> {
        let mut top = self
            .top
            .write()
            .map_err(|_| StorageError::Backend("status map lock poisoned".into()))?;
        for (path, node) in changes.iter().filter(|(p, _)| p.depth <= TOP_DEPTH) {
            match node {
                // Every position on the key's path below holds that one key too.
                MapNode::Leaf { key, value } => {
                    let hash = node.hash();
                    for depth in path.depth..=TOP_DEPTH {
                        let at = NodePath {
                            depth,
                            prefix: *key,
                        };
                        top.set(&at, Kind::Leaf, hash);
                    }
                    if top.leaves.len() < LEAVES_KEPT {
                        top.leaves.insert(hash, (*key, *value));
                    }
                }
                MapNode::Internal { hash } => top.set(path, Kind::Internal, *hash),
            }
        }
        // As the map grows, its leaves become subtrees below the top: give their room back.
        if top.leaves.capacity() > 4 * top.leaves.len() + 1024 {
            top.leaves.shrink_to_fit();
        }
        Ok(())
    }
}

/// The map at one moment, as a [`MapStore`]: the top from memory, the subtrees below from the
/// status records (each rebuilt once per view).
pub struct MapView<'a> {
    top: RwLockReadGuard<'a, Top>,
    storage: &'a dyn Storage,
    below: RefCell<HashMap<usize, BTreeMap<NodePath, MapNode>>>,
    /// The status records below positions of the deepest level, as stored, read once.
    records: RefCell<HashMap<usize, StatusEncodings>>,
}

impl MapView<'_> {
    /// What `f` makes of the status records below position `at` of the deepest level.
    fn records_below<T>(
        &self,
        at: usize,
        f: impl FnOnce(&[(Hash, Vec<u8>)]) -> T,
    ) -> Result<T, StorageError> {
        let mut records = self.records.borrow_mut();
        let below = match records.entry(at) {
            std::collections::hash_map::Entry::Occupied(read) => read.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(records_at(self.storage, at)?)
            }
        };
        Ok(f(below))
    }

    /// The leaf at `path` of the top, whose hash is `hash`, from the status records below it.
    fn stored_leaf(&self, path: &NodePath, hash: Hash) -> Result<Option<MapNode>, StorageError> {
        match keys_below(self.storage, path)?[..] {
            [(key, value)] if leaf_hash(&key, &value) == hash => {
                Ok(Some(MapNode::Leaf { key, value }))
            }
            _ => Err(StorageError::Corrupt(format!(
                "the status records under the map leaf at depth {} do not match it",
                path.depth
            ))),
        }
    }

    /// Reads the status records that [`MapView::status`] of `keys` (in key order) needs, and
    /// builds the subtrees that the map's update of them walks, in one thread per core. In a
    /// large map nearly every key's position holds others (about twenty at twenty million
    /// keys), and these reads and hashes are most of an integration batch's work.
    pub fn read_ahead(&self, keys: &[Hash]) -> Result<(), StorageError> {
        self.read_ahead_in(keys, cores())
    }

    /// [`MapView::read_ahead`] in at most `threads` threads, each taking a run of positions in
    /// key order, where neighbouring reads share fjall's blocks.
    fn read_ahead_in(&self, keys: &[Hash], threads: usize) -> Result<(), StorageError> {
        let deepest = &self.top.levels[usize::from(TOP_DEPTH)];
        let mut positions: Vec<usize> = {
            let read = self.records.borrow();
            keys.iter()
                .map(deepest_position)
                .filter(|at| deepest.kind(*at) == Kind::Internal && !read.contains_key(at))
                .collect()
        };
        positions.dedup();
        let storage = self.storage;
        let read_share = move |share: &[usize]| {
            share
                .iter()
                .map(|&at| {
                    let records = records_at(storage, at)?;
                    let nodes = subtree_at(at, &records);
                    Ok((at, records, nodes))
                })
                .collect::<Result<Vec<_>, StorageError>>()
        };
        let share = positions
            .len()
            .div_ceil(threads.max(1))
            .max(READ_AHEAD_SHARE);
        let mut shares = positions.chunks(share);
        let read = std::thread::scope(|scope| {
            let first = shares.next().unwrap_or_default();
            let others: Vec<_> = shares
                .map(|share| {
                    let thread = std::thread::Builder::new()
                        .name("status-read".into())
                        .spawn_scoped(scope, move || read_share(share));
                    (share, thread.ok())
                })
                .collect();
            // Every thread is joined before an error is returned: one that panicked is then
            // an error too, not a panic of the scope.
            let mine = read_share(first);
            let theirs: Vec<_> = others
                .into_iter()
                .map(|(share, thread)| match thread {
                    Some(thread) => thread.join().unwrap_or_else(|_| {
                        Err(StorageError::Backend(
                            "reading status records panicked".into(),
                        ))
                    }),
                    // No thread to be had: read them here.
                    None => read_share(share),
                })
                .collect();
            let mut read = mine?;
            for share in theirs {
                read.extend(share?);
            }
            Ok::<_, StorageError>(read)
        })?;
        let (mut records, mut below) = (self.records.borrow_mut(), self.below.borrow_mut());
        for (at, read, nodes) in read {
            records.insert(at, read);
            below.insert(at, nodes);
        }
        Ok(())
    }

    /// The status record of `key` in the view's state: none when the top has no key at its
    /// position, else from the records below that position, which an update of the map reads
    /// anyway (or, when it holds one key, a read of that key).
    pub fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, StorageError> {
        let at = deepest_position(key);
        match self.top.levels[usize::from(TOP_DEPTH)].kind(at) {
            Kind::Empty => Ok(None),
            Kind::Leaf => self.storage.status(key),
            Kind::Internal => self
                .records_below(at, |records| {
                    records
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, bytes)| StatusRecord::decode(&bytes[..]))
                })?
                .transpose()
                .map_err(|e| StorageError::Corrupt(format!("status record: {e}"))),
        }
    }
}

impl MapStore for MapView<'_> {
    type Error = StorageError;

    fn node(&self, path: &NodePath) -> Result<Option<MapNode>, StorageError> {
        if path.depth <= TOP_DEPTH {
            let level = &self.top.levels[usize::from(path.depth)];
            let i = position(path);
            return match level.kind(i) {
                Kind::Empty => Ok(None),
                Kind::Internal => Ok(Some(MapNode::Internal {
                    hash: level.hash(i),
                })),
                Kind::Leaf => match self.top.leaves.get(&level.hash(i)) {
                    Some(&(key, value)) => Ok(Some(MapNode::Leaf { key, value })),
                    None => self.stored_leaf(path, level.hash(i)),
                },
            };
        }
        let at = deepest_position(&path.prefix);
        if self.top.levels[usize::from(TOP_DEPTH)].kind(at) != Kind::Internal {
            return Ok(None);
        }
        let mut below = self.below.borrow_mut();
        if let std::collections::hash_map::Entry::Vacant(slot) = below.entry(at) {
            slot.insert(self.records_below(at, |records| subtree_at(at, records))?);
        }
        Ok(below.get(&at).and_then(|nodes| nodes.get(path)).copied())
    }

    /// From memory in the top, even for a leaf whose key and value are only in storage.
    fn hash(&self, path: &NodePath) -> Result<Hash, StorageError> {
        if path.depth > TOP_DEPTH {
            return Ok(self.node(path)?.map_or(EMPTY, |node| node.hash()));
        }
        let level = &self.top.levels[usize::from(path.depth)];
        let i = position(path);
        Ok(match level.kind(i) {
            Kind::Empty => EMPTY,
            Kind::Leaf | Kind::Internal => level.hash(i),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::failing::FailingStorage;
    use crate::storage::{Batch, MemoryStorage};
    use certlog_verifier::certificate::status_record_hash;
    use certlog_verifier::proto::StatusRecord;
    use certlog_verifier::status_map::{MapUpdate, MemoryMap, prove, verify};
    use std::sync::atomic::Ordering;

    fn key(n: u32) -> Hash {
        certlog_verifier::merkle::leaf_hash(&n.to_be_bytes())
    }

    fn record(n: u32, version: u64) -> StatusRecord {
        StatusRecord {
            certificate_id: format!("C-{n}"),
            issued_index: u64::from(n),
            last_change_index: u64::from(n) + version,
            ..StatusRecord::default()
        }
    }

    /// Commits status records (and no entry: the map does not read them here) and the same
    /// changes to a reference map held wholly in memory; checks both roots.
    fn commit(
        storage: &MemoryStorage,
        map: &StatusMap,
        reference: &mut MemoryMap,
        records: &[(u32, u64)],
    ) {
        let (root, changes) = {
            let view = map.view(storage).unwrap();
            let mut update = MapUpdate::new(&view);
            for (n, version) in records {
                update.set(key(*n), status_record_hash(&record(*n, *version)));
            }
            update.finish().unwrap()
        };
        let mut expected = MapUpdate::new(&*reference);
        for (n, version) in records {
            expected.set(key(*n), status_record_hash(&record(*n, *version)));
        }
        let (expected_root, expected_changes) = expected.finish().unwrap();
        reference.apply(expected_changes);
        assert_eq!(root, expected_root);
        let statuses = records
            .iter()
            .map(|(n, v)| (key(*n), record(*n, *v), u64::from(*n)))
            .collect();
        storage
            .commit(&Batch {
                statuses,
                map_cells: stored_cells(&changes),
                ..Batch::default()
            })
            .unwrap();
        map.apply(&changes).unwrap();
        assert_eq!(map.root().unwrap(), root);
    }

    #[test]
    fn updates_and_proofs_match_a_map_held_in_memory() {
        let storage = MemoryStorage::default();
        let map = StatusMap {
            top: RwLock::new(Top::empty()),
        };
        let mut reference = MemoryMap::default();
        // One key, then a few (leaves in the top), then many (subtrees below it), then changes.
        // Every other batch meets leaves whose key and value the top forgot, as after a start,
        // and reads them from the records.
        let forget_leaves = |map: &StatusMap| map.top.write().unwrap().leaves.clear();
        commit(&storage, &map, &mut reference, &[(0, 0)]);
        commit(&storage, &map, &mut reference, &[(1, 0), (2, 0), (3, 0)]);
        for batch in 0..8u32 {
            if batch % 2 == 1 {
                forget_leaves(&map);
            }
            let records: Vec<(u32, u64)> = (0..4000).map(|i| (4 + batch * 4000 + i, 0)).collect();
            commit(&storage, &map, &mut reference, &records);
        }
        commit(
            &storage,
            &map,
            &mut reference,
            &[(7, 1), (20_000, 1), (0, 2)],
        );
        let root = map.root().unwrap();
        let view = map.view(&storage).unwrap();
        for n in [0, 1, 7, 500, 20_000, 31_999, 40_000, 1_000_000] {
            let lookup = prove(&view, &key(n)).unwrap();
            assert_eq!(lookup, prove(&reference, &key(n)).unwrap(), "key {n}");
            verify(&root, &key(n), lookup.value.as_ref(), &lookup.proof).unwrap();
        }
        // The leaves whose key and value the top keeps are leaves of its deepest level.
        let deepest = &view.top.levels[usize::from(TOP_DEPTH)];
        assert!(!view.top.leaves.is_empty());
        for (hash, (key, value)) in &view.top.leaves {
            let at = deepest_position(key);
            assert_eq!((deepest.kind(at), deepest.hash(at)), (Kind::Leaf, *hash));
            assert_eq!(leaf_hash(key, value), *hash);
        }
        drop(view);
        // Deep enough that subtrees below the top were rebuilt from the records.
        assert!(
            reference.0.keys().any(|p| p.depth > TOP_DEPTH),
            "no node below the top"
        );
        // The view's status records are storage's: at positions of the top that are empty,
        // hold one key, or more (read as a group), and for keys absent from all of them.
        let view = map.view(&storage).unwrap();
        let deepest = |n: u32| {
            let at = deepest_position(&key(n));
            view.top.levels[usize::from(TOP_DEPTH)].kind(at)
        };
        let mut kinds = BTreeMap::new();
        for n in (0..32_004).chain(1_000_000..1_040_000) {
            let expected = storage.status(&key(n)).unwrap();
            assert_eq!(view.status(&key(n)).unwrap(), expected, "key {n}");
            *kinds
                .entry((deepest(n) as u8, expected.is_some()))
                .or_insert(0) += 1;
        }
        // Every kind of position, with keys present and absent.
        for kind in [Kind::Empty, Kind::Leaf, Kind::Internal] {
            for present in [false, true] {
                if kind != Kind::Empty || !present {
                    assert!(
                        kinds.contains_key(&(kind as u8, present)),
                        "{kind:?} {present}"
                    );
                }
            }
        }
        drop(view);

        // The top kept up to date, rebuilt from the records, and read back from the positions
        // stored with each batch, are the same.
        let rebuilt = Top::rebuild(&storage).unwrap();
        assert_eq!(rebuilt.root(), root);
        let cells = storage.map_cells(0..u32::MAX).unwrap();
        assert_eq!(cells, rebuilt.cells());
        let kept = map.read().unwrap();
        for threads in [1, 2, 16] {
            let read_back = Top::load(&storage, threads).unwrap().unwrap();
            for depth in 0..=usize::from(TOP_DEPTH) {
                for top in [&read_back, &*kept] {
                    assert!(
                        top.levels[depth].hashes == rebuilt.levels[depth].hashes,
                        "{depth}"
                    );
                    assert!(
                        top.levels[depth].kinds == rebuilt.levels[depth].kinds,
                        "{depth}"
                    );
                }
            }
        }
        drop(kept);
        // A position that does not decode is refused, in whichever share it is.
        for (at, damage) in [(3, (0, 7)), (3, (0, 0)), (cells.len() - 1, (0, 9))] {
            let damaged = MemoryStorage::default();
            let mut stored = cells.clone();
            stored[at].1[damage.0] = damage.1;
            damaged.put_map_cells(&stored).unwrap();
            for threads in [1, 2] {
                assert!(Top::load(&damaged, threads).unwrap().is_none());
            }
        }

        // Opened again, under a map head of that root: from the stored positions; without them
        // (the same records in another store), rebuilt and stored; with another root, refused.
        let head = |root: Hash| {
            let bytes = certlog_verifier::proto::Entry {
                body: Some(Body::MapHead(certlog_verifier::proto::MapHead {
                    root: root.0.to_vec(),
                    tree_size: 0,
                    timestamp: 1,
                })),
            }
            .encode_to_vec();
            Batch {
                size: 1,
                entries: vec![(0, bytes, Hash([0; 32]))],
                ..Batch::default()
            }
        };
        storage.commit(&head(root)).unwrap();
        assert_eq!(StatusMap::open(&storage, 1).unwrap().1, Opened::Loaded);
        let records = storage
            .status_encodings(&EMPTY, &Hash([0xff; 32]), usize::MAX)
            .unwrap();
        let copy = MemoryStorage::default();
        let mut batch = head(root);
        batch.statuses = records
            .into_iter()
            .map(|(k, r)| (k, StatusRecord::decode(&r[..]).unwrap(), 0))
            .collect();
        copy.commit(&batch).unwrap();
        assert_eq!(StatusMap::open(&copy, 1).unwrap().1, Opened::Rebuilt);
        assert_eq!(copy.map_cells(0..u32::MAX).unwrap(), cells);
        assert_eq!(StatusMap::open(&copy, 1).unwrap().1, Opened::Loaded);
        copy.commit(&head(key(1))).unwrap();
        assert!(matches!(
            StatusMap::open(&copy, 1),
            Err(StorageError::Corrupt(m)) if m.contains("last map head says")
        ));
    }

    #[test]
    fn a_read_ahead_shares_the_reads_between_threads_and_leaves_none_to_do() {
        let storage = FailingStorage::new(usize::MAX);
        let map = StatusMap {
            top: RwLock::new(Top::empty()),
        };
        let mut reference = MemoryMap::default();
        let records: Vec<(u32, u64)> = (0..32_000).map(|n| (n, 0)).collect();
        commit(&storage.inner, &map, &mut reference, &records);
        let mut keys: Vec<Hash> = (0..32_000).map(key).collect();
        keys.sort_unstable();
        let view = map.view(&storage).unwrap();
        // Some hundreds of positions hold two keys or more: their records are read by range,
        // half of them in another thread.
        view.read_ahead_in(&keys, 2).unwrap();
        assert_eq!(storage.status_readers.lock().unwrap().len(), 2);
        // What the rules read of these keys is all read.
        storage.reads_fail.store(true, Ordering::SeqCst);
        for n in 0..32_000 {
            let expected = storage.inner.status(&key(n)).unwrap();
            assert_eq!(view.status(&key(n)).unwrap(), expected, "key {n}");
        }
        // The proofs and an update of the keys at positions that hold more than one read
        // nothing more either: of the top's positions beside their paths, they need the hashes.
        let deepest = &view.top.levels[usize::from(TOP_DEPTH)];
        let shared = |n: &u32| {
            let at = deepest_position(&key(*n));
            deepest.kind(at) == Kind::Internal
        };
        for n in (0..32_000).filter(shared) {
            let lookup = prove(&view, &key(n)).unwrap();
            assert_eq!(lookup, prove(&reference, &key(n)).unwrap(), "key {n}");
        }
        let mut update = MapUpdate::new(&view);
        for n in (0..32_000).filter(shared) {
            update.set(key(n), status_record_hash(&record(n, 1)));
        }
        update.finish().unwrap();
    }

    #[test]
    fn an_update_meets_the_leaves_written_since_the_start_without_reading() {
        let storage = FailingStorage::new(usize::MAX);
        let map = StatusMap {
            top: RwLock::new(Top::empty()),
        };
        let mut reference = MemoryMap::default();
        let records: Vec<(u32, u64)> = (0..4000).map(|n| (n, 0)).collect();
        commit(&storage.inner, &map, &mut reference, &records);
        storage.reads_fail.store(true, Ordering::SeqCst);
        // New keys and changed ones, all where the top's deepest position holds at most one
        // key: on their paths, the top's leaves (most of its keys, at this size).
        let view = map.view(&storage).unwrap();
        let deepest = &view.top.levels[usize::from(TOP_DEPTH)];
        let alone = |n: &u32| {
            let at = deepest_position(&key(*n));
            deepest.kind(at) != Kind::Internal
        };
        let changed: Vec<(u32, u64)> = (2000..6000).filter(alone).map(|n| (n, 1)).collect();
        assert!(changed.len() > 3900);
        let mut update = MapUpdate::new(&view);
        let mut expected = MapUpdate::new(&reference);
        for (n, version) in &changed {
            let value = status_record_hash(&record(*n, *version));
            update.set(key(*n), value);
            expected.set(key(*n), value);
        }
        assert_eq!(
            update.finish().unwrap().0,
            expected.finish().unwrap().0,
            "the root"
        );
        // Without the leaves kept, the same update reads them.
        drop(view);
        map.top.write().unwrap().leaves.clear();
        let view = map.view(&storage).unwrap();
        let mut update = MapUpdate::new(&view);
        for (n, version) in &changed {
            update.set(key(*n), status_record_hash(&record(*n, *version)));
        }
        assert!(matches!(update.finish(), Err(StorageError::Backend(_))));
    }

    #[test]
    fn positions_and_paths_agree() {
        for (depth, i) in [
            (0u16, 0usize),
            (1, 1),
            (7, 100),
            (20, (1 << 20) - 1),
            (20, 12345),
        ] {
            let path = path_at(depth, i);
            assert_eq!(position(&path), i);
            let (first, last) = key_range(&path);
            assert_eq!(
                position(&NodePath {
                    depth,
                    prefix: last
                }),
                i
            );
            assert_eq!(first, path.prefix);
        }
        assert_eq!(next_key(&Hash([0xff; 32])), None);
        let mut k = Hash([0; 32]);
        k.0[31] = 0xff;
        let mut want = Hash([0; 32]);
        want.0[30] = 1;
        assert_eq!(next_key(&k), Some(want));
    }
}

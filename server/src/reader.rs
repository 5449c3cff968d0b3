//! Reading the tree from storage. Hash tiles serve proofs and the tile endpoint; full tiles
//! never change, so a small cache keeps the hot ones (the top of the tree, which every proof
//! touches); partial tiles are read from storage each time.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use certlog_verifier::Hash;
use certlog_verifier::tiles::{TILE_WIDTH, TileReader};

use crate::storage::{Storage, StorageError};

const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * Hash::LEN;

fn missing(level: u8, index: u64, min_width: u16) -> StorageError {
    StorageError::Corrupt(format!(
        "tile {level}/{index} with at least {min_width} hashes is not stored"
    ))
}

/// Tiles straight from storage.
pub struct StorageTiles<'a>(pub &'a dyn Storage);

impl TileReader for StorageTiles<'_> {
    type Tile = Vec<u8>;
    type Error = StorageError;

    fn read_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Vec<u8>, StorageError> {
        self.0
            .tile(level, index)?
            .filter(|t| t.len() >= usize::from(min_width) * Hash::LEN)
            .ok_or_else(|| missing(level, index, min_width))
    }
}

/// Tiles from storage, with the most recently read full tiles kept in memory.
pub struct CachedTiles {
    storage: Arc<dyn Storage>,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    tiles: HashMap<(u8, u64), Arc<[u8]>>,
    order: VecDeque<(u8, u64)>,
    capacity: usize,
}

impl CachedTiles {
    /// A cache of at most `capacity` full tiles (8 KiB each) over `storage`.
    pub fn new(storage: Arc<dyn Storage>, capacity: usize) -> CachedTiles {
        CachedTiles {
            storage,
            cache: Mutex::new(Cache {
                capacity,
                ..Cache::default()
            }),
        }
    }
}

impl TileReader for &CachedTiles {
    type Tile = Arc<[u8]>;
    type Error = StorageError;

    fn read_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Arc<[u8]>, StorageError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(tile) = cache.tiles.get(&(level, index))
        {
            return Ok(tile.clone());
        }
        let tile: Arc<[u8]> = StorageTiles(&*self.storage)
            .read_tile(level, index, min_width)?
            .into();
        if tile.len() == FULL_TILE_BYTES
            && let Ok(mut cache) = self.cache.lock()
            && cache.capacity > 0
            && cache.tiles.insert((level, index), tile.clone()).is_none()
        {
            cache.order.push_back((level, index));
            if cache.order.len() > cache.capacity
                && let Some(old) = cache.order.pop_front()
            {
                cache.tiles.remove(&old);
            }
        }
        Ok(tile)
    }
}

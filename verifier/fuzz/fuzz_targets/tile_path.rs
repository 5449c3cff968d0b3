//! Tile paths (only the canonical path of a tile parses), and hash tiles' bytes.

#![no_main]

use std::convert::Infallible;

use certlog_log::TileId;
use certlog_log::tiles::tile_hashes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tile_hashes::<Infallible>(data);
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tile) = TileId::parse_path(path) else {
        return;
    };
    assert_eq!(tile.path(), path);
    let _ = tile.exists_at(u64::MAX);
    let _ = tile.exists_at(tile.first_position());
});

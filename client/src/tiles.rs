//! A C2SP tlog-tiles client over plain HTTP: the checkpoint, hash tiles and entry bundles a log
//! serves (`GET /checkpoint`, `/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`), and proofs
//! computed from the hash tiles of one tree size ([`TreeTiles`]).
//!
//! Tile paths and contents come from `certlog_log::tiles`; this module adds the transport.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use certlog_log::entry_bundle::parse_entry_bundle;
use certlog_log::tiles::{TILE_WIDTH, TileError, TileHashReader, TileId, TileLevel, TileReader};
use certlog_verifier::merkle::{self, Hash, ProveError};

/// Why the log's tiles could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TilesError {
    /// The base URL is not an http:// or https:// URL.
    #[error("invalid log URL {0:?}: expected http://host:port or https://host:port")]
    Url(String),
    /// No usable TLS configuration for an https:// log.
    #[error("TLS: {0}")]
    Tls(String),
    /// The request failed: the log could not be reached, or the answer was cut.
    #[error("GET {url}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The log answered with an error status.
    #[error("GET {url}: the log answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// A tile or bundle is not what its path promises.
    #[error("{tile}: {reason}")]
    Malformed {
        /// The tile.
        tile: TileId,
        /// What is wrong with it.
        reason: String,
    },
    /// The hashes served do not give a proof for the tree (missing or short tiles).
    #[error("computing a proof from the log's tiles: {0}")]
    Proof(String),
}

impl TilesError {
    /// Whether the error is the log's data rather than the network: a tile of the wrong
    /// length, a bundle that does not parse.
    pub fn is_malformed(&self) -> bool {
        matches!(self, TilesError::Malformed { .. } | TilesError::Proof(_))
    }
}

/// A log's tiles, over HTTP; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct TileClient {
    http: reqwest::Client,
    base: String,
}

impl TileClient {
    /// A client of the log at `base` (`http://host:port`, or with a path prefix), or at an
    /// `https://` one whose certificate chains to the CA of `tls`.
    pub fn new(base: &str, tls: &crate::Tls) -> Result<TileClient, TilesError> {
        let base = base.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .unwrap_or_default();
        if rest.is_empty() {
            return Err(TilesError::Url(base.into()));
        }
        if base.starts_with("https://") && tls.ca.is_none() {
            return Err(TilesError::Tls(format!(
                "{base} is HTTPS: give its CA with --ca FILE"
            )));
        }
        // Always a configuration of our own (ring, only the CA given): reqwest has no TLS
        // provider of its own here.
        let config = tls
            .rustls_config()
            .map_err(|e| TilesError::Tls(e.to_string()))?;
        let builder = reqwest::Client::builder().tls_backend_preconfigured(config);
        let http = builder.build().map_err(|source| TilesError::Http {
            url: base.into(),
            source,
        })?;
        Ok(TileClient {
            http,
            base: base.into(),
        })
    }

    /// The log's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base/path`: the body, or `None` for 404.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, TilesError> {
        let url = format!("{}/{path}", self.base);
        let http = |source| TilesError::Http {
            url: url.clone(),
            source,
        };
        let response = self.http.get(&url).send().await.map_err(http)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(TilesError::Status {
                url,
                status: status.as_u16(),
            });
        }
        Ok(Some(response.bytes().await.map_err(http)?.to_vec()))
    }

    /// `GET base/path`, where 404 is an error.
    async fn get_found(&self, path: &str) -> Result<Vec<u8>, TilesError> {
        self.get(path).await?.ok_or_else(|| TilesError::Status {
            url: format!("{}/{path}", self.base),
            status: 404,
        })
    }

    /// The latest signed checkpoint, as served (not verified here).
    pub async fn checkpoint(&self) -> Result<Vec<u8>, TilesError> {
        self.get_found("checkpoint").await
    }

    /// The bytes of a tile, `tile.width` hashes or entries of it. A partial tile that is gone
    /// because the full one now exists (C2SP tlog-tiles lets a log remove it) is read from the
    /// full tile.
    async fn fetch(&self, tile: TileId) -> Result<Vec<u8>, TilesError> {
        if let Some(bytes) = self.get(&tile.path()).await? {
            return Ok(bytes);
        }
        if tile.is_full() {
            return self.get_found(&tile.path()).await;
        }
        let full = TileId {
            width: TILE_WIDTH,
            ..tile
        };
        self.get_found(&full.path()).await
    }

    /// The hashes of a hash tile, at least `tile.width` of them (a longer tile is cut).
    pub async fn hash_tile(&self, tile: TileId) -> Result<Vec<u8>, TilesError> {
        let mut bytes = self.fetch(tile).await?;
        let want = usize::from(tile.width) * Hash::LEN;
        if bytes.len() < want || bytes.len() % Hash::LEN != 0 {
            return Err(TilesError::Malformed {
                tile,
                reason: format!("{} bytes, {want} expected", bytes.len()),
            });
        }
        bytes.truncate(want);
        Ok(bytes)
    }

    /// The entries of an entry bundle, exactly `tile.width` of them (a longer bundle is cut).
    pub async fn entry_bundle(&self, tile: TileId) -> Result<Vec<Vec<u8>>, TilesError> {
        let bytes = self.fetch(tile).await?;
        let malformed = |reason: String| TilesError::Malformed { tile, reason };
        let entries = parse_entry_bundle(&bytes).map_err(|e| malformed(e.to_string()))?;
        let want = usize::from(tile.width);
        if entries.len() < want {
            return Err(malformed(format!(
                "{} entries, {want} expected",
                entries.len()
            )));
        }
        Ok(entries[..want].iter().map(|e| e.to_vec()).collect())
    }
}

/// Hash tiles fetched, by level and index.
type TileCache = BTreeMap<(u8, u64), Arc<[u8]>>;

/// The hash tiles of one tree size, fetched as proofs need them and kept.
pub struct TreeTiles {
    client: TileClient,
    size: u64,
    cache: Mutex<TileCache>,
}

/// A tile a computation needed that is not fetched yet.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("tile {0} not fetched yet")]
pub struct Missing(pub TileId);

type ReadError = TileError<Missing>;

impl TileReader for &TreeTiles {
    type Tile = Arc<[u8]>;
    type Error = Missing;

    /// The tile as fetched (as wide as the tree has it: a shorter one than needed is for the
    /// hash reader to refuse), or which one to fetch.
    fn read_tile(&self, level: u8, index: u64, _min_width: u16) -> Result<Arc<[u8]>, Missing> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(&(level, index)) {
            Some(tile) => Ok(tile.clone()),
            None => Err(Missing(self.tile_at(level, index))),
        }
    }
}

impl TreeTiles {
    /// The tiles of the tree of `size` leaves.
    pub fn new(client: TileClient, size: u64) -> TreeTiles {
        TreeTiles {
            client,
            size,
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    /// The tile at `level` and `index` as the tree has it: full, or as wide as the tree goes.
    fn tile_at(&self, level: u8, index: u64) -> TileId {
        let count = self.size.checked_shr(8 * u32::from(level)).unwrap_or(0);
        let left = count.saturating_sub(index.saturating_mul(u64::from(TILE_WIDTH)));
        TileId::hashes(level, index, left.min(u64::from(TILE_WIDTH)) as u16)
    }

    /// Runs a computation over the tiles, fetching each tile it misses and running it again.
    async fn compute<T>(
        &self,
        f: impl Fn(&TileHashReader<&TreeTiles>) -> Result<T, ProveError<ReadError>>,
    ) -> Result<T, TilesError> {
        let reader = TileHashReader(self);
        // Each round fetches one more tile (and never the same twice); a proof reads a few
        // dozen at most.
        for _ in 0..1000 {
            match f(&reader) {
                Ok(value) => return Ok(value),
                Err(ProveError::Read(TileError::Read(Missing(tile)))) => {
                    if tile.width == 0 {
                        return Err(TilesError::Proof(format!(
                            "{tile} is not in a tree of {} leaves",
                            self.size
                        )));
                    }
                    let bytes = self.client.hash_tile(tile).await?;
                    let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    if let TileLevel::Hashes(level) = tile.level {
                        cache.insert((level, tile.index), Arc::from(bytes));
                    }
                }
                Err(e) => return Err(TilesError::Proof(e.to_string())),
            }
        }
        Err(TilesError::Proof("too many tiles for one proof".into()))
    }

    /// The inclusion proof of leaf `index` (RFC 9162 2.1.3.1).
    pub async fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, TilesError> {
        self.compute(|r| merkle::inclusion_proof(index, self.size, r))
            .await
    }

    /// The RFC 9162 consistency proof from the tree of `size1` leaves.
    pub async fn consistency_proof(&self, size1: u64) -> Result<Vec<Hash>, TilesError> {
        self.compute(|r| merkle::consistency_proof(size1, self.size, r))
            .await
    }

    /// The full-form consistency proof from the tree of `size1` leaves
    /// ([`merkle::full_consistency_proof`]).
    pub async fn full_consistency_proof(&self, size1: u64) -> Result<Vec<Hash>, TilesError> {
        self.compute(|r| merkle::full_consistency_proof(size1, self.size, r))
            .await
    }

    /// The leaf hashes `start..end` the tree holds, from its level-0 tiles.
    pub async fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, TilesError> {
        let width = u64::from(TILE_WIDTH);
        let mut hashes = Vec::new();
        let mut index = start;
        while index < end.min(self.size) {
            let tile = self.tile_at(0, index / width);
            let bytes = self.client.hash_tile(tile).await?;
            let from = (index % width) as usize;
            let to = (end - tile.first_position()).min(u64::from(tile.width)) as usize;
            hashes.extend(
                bytes[from * Hash::LEN..to * Hash::LEN]
                    .chunks_exact(Hash::LEN)
                    .filter_map(Hash::from_slice),
            );
            index = tile.first_position() + to as u64;
        }
        Ok(hashes)
    }
}

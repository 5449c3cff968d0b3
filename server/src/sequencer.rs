//! The sequencer (DESIGN "Storage and the write path"): one thread that takes authenticated
//! submissions from a bounded queue, batches them (up to `batch_max` entries, waiting at most
//! `batch_interval` for more after the first), applies the log's rules in order, and writes the
//! batch (entries, tiles, records and the signed checkpoint of the new tree) in one atomic,
//! flushed storage commit. Only then is the new checkpoint published and every submitter
//! answered: nothing is acknowledged before it is durable.
//!
//! If a commit fails, the sequencer stops for good and refuses everything after: what is on
//! disk is then uncertain, and only a restart, which starts again from disk, is safe.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use certlog_verifier::merkle::{CompactRange, NodeId};
use certlog_verifier::proto::{CertifierRecord, SignedStatement, Statement, StatusRecord};
use certlog_verifier::rules::{self, Change, LogState, RuleError};
use certlog_verifier::tiles::{TILE_HEIGHT, TILE_WIDTH, TileHashReader};
use certlog_verifier::{Checkpoint, Hash, SigningKey};
use tokio::sync::{oneshot, watch};

use crate::reader::StorageTiles;
use crate::storage::{Batch, Storage, StorageError};

/// How the sequencer batches.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// The most entries in one batch.
    pub max_entries: usize,
    /// How long to wait for more entries after the first of a batch.
    pub interval: Duration,
    /// Submissions that may wait in the queue before new ones are refused.
    pub queue: usize,
}

/// The latest durable, signed state of the log.
#[derive(Clone, Debug)]
pub struct Published {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// An authenticated submission, ready for the rules.
pub struct Submission {
    /// The entry bytes, as they will be logged.
    pub bytes: Vec<u8>,
    /// Their leaf hash.
    pub leaf_hash: Hash,
    /// The signed statement inside, its signature already verified.
    pub signed: SignedStatement,
    /// The decoded statement.
    pub statement: Statement,
}

/// A durable entry.
#[derive(Clone, Debug)]
pub struct Sequenced {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Whether identical bytes were logged before.
    pub duplicate: bool,
    /// A published state that includes the entry.
    pub published: Arc<Published>,
}

/// Why a submission was not logged.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    /// The log's rules refuse it.
    #[error("{0}")]
    Rule(RuleError<StorageError>),
    /// Too many submissions are waiting.
    #[error("the log is overloaded: {0} submissions are queued; retry later")]
    Overloaded(usize),
    /// Storage failed: the log no longer accepts entries until restarted.
    #[error("the log cannot write: {0}")]
    Storage(String),
}

type Reply = oneshot::Sender<Result<Sequenced, SequenceError>>;

/// Submits to the sequencer; cheap to clone, one per request handler.
#[derive(Clone)]
pub struct SequencerHandle {
    queue: SyncSender<(Submission, Reply)>,
    capacity: usize,
}

impl SequencerHandle {
    /// Queues a submission and waits until it is durable (or refused).
    pub async fn submit(&self, submission: Submission) -> Result<Sequenced, SequenceError> {
        let (tx, rx) = oneshot::channel();
        match self.queue.try_send((submission, tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SequenceError::Overloaded(self.capacity)),
            Err(TrySendError::Disconnected(_)) => {
                return Err(SequenceError::Storage("the sequencer has stopped".into()));
            }
        }
        rx.await
            .unwrap_or_else(|_| Err(SequenceError::Storage("the sequencer has stopped".into())))
    }
}

/// The hashes of the incomplete tile at each level, as the tree grows.
#[derive(Clone, Debug, Default)]
struct TileBuffers(Vec<Vec<u8>>);

impl TileBuffers {
    /// The partial tiles of a tree of `size` leaves, read from storage.
    fn load(storage: &dyn Storage, size: u64) -> Result<TileBuffers, StorageError> {
        let mut levels = Vec::new();
        for level in 0..=certlog_verifier::tiles::MAX_TILE_LEVEL {
            let count = size
                .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
                .unwrap_or(0);
            if count == 0 {
                break;
            }
            let width = (count % u64::from(TILE_WIDTH)) as usize * Hash::LEN;
            let mut tile = Vec::with_capacity(usize::from(TILE_WIDTH) * Hash::LEN);
            if width > 0 {
                let stored = storage
                    .tile(level, count / u64::from(TILE_WIDTH))?
                    .filter(|t| t.len() >= width)
                    .ok_or_else(|| {
                        StorageError::Corrupt(format!("partial tile at level {level} is missing"))
                    })?;
                tile.extend_from_slice(&stored[..width]);
            }
            levels.push(tile);
        }
        Ok(TileBuffers(levels))
    }

    /// Adds a stored hash at a tile level; returns the tile when it becomes full.
    fn push(&mut self, level: u8, hash: &Hash) -> Option<Vec<u8>> {
        let level = usize::from(level);
        if self.0.len() <= level {
            self.0.resize_with(level + 1, Vec::new);
        }
        let buf = &mut self.0[level];
        buf.extend_from_slice(hash.as_bytes());
        (buf.len() == usize::from(TILE_WIDTH) * Hash::LEN).then(|| std::mem::take(buf))
    }
}

/// The rules' view during a batch: storage, overlaid with the changes of the batch so far.
struct BatchState<'a> {
    storage: &'a dyn Storage,
    certifiers: HashMap<String, CertifierRecord>,
    statuses: HashMap<Hash, StatusRecord>,
}

impl LogState for BatchState<'_> {
    type Error = StorageError;

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>, StorageError> {
        match self.certifiers.get(name) {
            Some(r) => Ok(Some(r.clone())),
            None => self.storage.certifier(name),
        }
    }

    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, StorageError> {
        match self.statuses.get(key) {
            Some(r) => Ok(Some(r.clone())),
            None => self.storage.status(key),
        }
    }
}

/// The sequencer's own state: the right edge of the tree and the partial tiles.
struct Sequencer {
    storage: Arc<dyn Storage>,
    log_key: SigningKey,
    config: BatchConfig,
    range: CompactRange,
    tiles: TileBuffers,
    published: watch::Sender<Arc<Published>>,
}

/// A started sequencer.
pub struct Started {
    /// Submits to it.
    pub handle: SequencerHandle,
    /// The published state, already holding a signed checkpoint of the stored tree.
    pub published: watch::Receiver<Arc<Published>>,
    /// Its thread, which ends after its batch once every handle is dropped.
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts the sequencer over `storage`, resuming from what is on disk.
pub fn start(
    storage: Arc<dyn Storage>,
    log_key: SigningKey,
    config: BatchConfig,
) -> Result<Started, StorageError> {
    let size = storage.size()?;
    let range = CompactRange::from_reader(size, &TileHashReader(StorageTiles(&*storage)))
        .map_err(|e| StorageError::Corrupt(format!("reading the tree edge: {e}")))?;
    let tiles = TileBuffers::load(&*storage, size)?;
    let root = range.root();
    let checkpoint = match storage.checkpoint(size)? {
        Some(text) => {
            let signed = certlog_verifier::SignedCheckpoint::verify(
                text.as_bytes(),
                &log_key.verifier_key(),
            )
            .map_err(|e| StorageError::Corrupt(format!("stored checkpoint: {e}")))?;
            if signed.checkpoint.root != root || signed.checkpoint.size != size {
                return Err(StorageError::Corrupt(format!(
                    "the stored tree of size {size} has root {root}, its checkpoint says {}",
                    signed.checkpoint.root
                )));
            }
            text
        }
        None => {
            // Stored but not yet signed (a crash after the commit of a new log): sign it now.
            let text = sign(&log_key, size, root)?;
            storage.commit(&Batch {
                size,
                checkpoint: text.clone(),
                ..Batch::default()
            })?;
            text
        }
    };
    let (published, rx) = watch::channel(Arc::new(Published {
        size,
        root,
        checkpoint,
    }));
    let (queue, submissions) = std::sync::mpsc::sync_channel(config.queue);
    let sequencer = Sequencer {
        storage,
        log_key,
        config,
        range,
        tiles,
        published,
    };
    let thread = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || sequencer.run(submissions))
        .map_err(|e| StorageError::Backend(format!("starting the sequencer: {e}")))?;
    Ok(Started {
        handle: SequencerHandle {
            queue,
            capacity: config.queue,
        },
        published: rx,
        thread,
    })
}

fn sign(log_key: &SigningKey, size: u64, root: Hash) -> Result<String, StorageError> {
    Checkpoint::new(log_key.name(), size, root)
        .sign(log_key)
        .map(|c| c.to_text())
        .map_err(|e| StorageError::Backend(format!("signing the checkpoint: {e}")))
}

impl Sequencer {
    fn run(mut self, submissions: Receiver<(Submission, Reply)>) {
        while let Ok(first) = submissions.recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + self.config.interval;
            while batch.len() < self.config.max_entries {
                let wait = deadline.saturating_duration_since(Instant::now());
                match submissions.recv_timeout(wait) {
                    Ok(s) => batch.push(s),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Err(e) = self.integrate(batch) {
                tracing::error!(error = %e, "commit failed: the log stops accepting entries");
                // Refuse everything queued and everything after: dropping the receiver
                // disconnects every handle.
                for (_, reply) in submissions.try_iter() {
                    let _ = reply.send(Err(SequenceError::Storage(e.to_string())));
                }
                return;
            }
        }
    }

    /// Applies, writes and publishes one batch, then answers its submitters.
    fn integrate(&mut self, batch: Vec<(Submission, Reply)>) -> Result<(), StorageError> {
        let start_size = self.range.size();
        let saved = (self.range.clone(), self.tiles.clone());
        let mut state = BatchState {
            storage: &*self.storage,
            certifiers: HashMap::new(),
            statuses: HashMap::new(),
        };
        let mut out = Batch::default();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut waiting: Vec<(Reply, u64, Hash, bool)> = Vec::with_capacity(batch.len());
        let mut touched: BTreeSet<u8> = BTreeSet::new();
        let published_now = self.published.borrow().clone();

        for (sub, reply) in batch {
            // Identical bytes are the same entry: answer with its index.
            if let Some(&index) = in_batch.get(&sub.leaf_hash) {
                waiting.push((reply, index, sub.leaf_hash, true));
                continue;
            }
            match self.storage.leaf_index(&sub.leaf_hash) {
                Ok(Some(index)) => {
                    let _ = reply.send(Ok(Sequenced {
                        index,
                        leaf_hash: sub.leaf_hash,
                        duplicate: true,
                        published: published_now.clone(),
                    }));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = reply.send(Err(SequenceError::Rule(RuleError::State(e))));
                    continue;
                }
            }
            let index = self.range.size();
            match rules::apply(&sub.signed, &sub.statement, index, &state) {
                Err(e) => {
                    let _ = reply.send(Err(SequenceError::Rule(e)));
                    continue;
                }
                Ok(Change::Certifier { name, record }) => {
                    state.certifiers.insert(name.clone(), record.clone());
                    out.certifiers.push((name, record));
                }
                Ok(Change::Status { key, record }) => {
                    state.statuses.insert(key, record.clone());
                    out.statuses.push((key, record, index));
                }
                Ok(Change::MapHead) => {}
            }
            let tiles = &mut self.tiles;
            let full = &mut out.tiles;
            self.range.append(sub.leaf_hash, |node: NodeId, hash| {
                if node.level % TILE_HEIGHT == 0 {
                    let level = node.level / TILE_HEIGHT;
                    touched.insert(level);
                    if let Some(tile) = tiles.push(level, hash) {
                        full.push((level, node.index / u64::from(TILE_WIDTH), tile));
                    }
                }
            });
            in_batch.insert(sub.leaf_hash, index);
            out.entries.push((index, sub.bytes, sub.leaf_hash));
            waiting.push((reply, index, sub.leaf_hash, false));
        }

        let size = self.range.size();
        if size == start_size {
            // Nothing new: only duplicates of stored entries and refusals, all answered.
            return Ok(());
        }
        for level in touched {
            let tile = &self.tiles.0[usize::from(level)];
            if !tile.is_empty() {
                let count = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
                out.tiles
                    .push((level, count / u64::from(TILE_WIDTH), tile.clone()));
            }
        }
        let root = self.range.root();
        out.size = size;
        let committed = sign(&self.log_key, size, root).and_then(|checkpoint| {
            out.checkpoint = checkpoint;
            self.storage.commit(&out)
        });
        if let Err(e) = committed {
            (self.range, self.tiles) = saved;
            for (reply, ..) in waiting {
                let _ = reply.send(Err(SequenceError::Storage(e.to_string())));
            }
            return Err(e);
        }
        let published = Arc::new(Published {
            size,
            root,
            checkpoint: out.checkpoint,
        });
        self.published.send_replace(published.clone());
        for (reply, index, leaf_hash, duplicate) in waiting {
            let _ = reply.send(Ok(Sequenced {
                index,
                leaf_hash,
                duplicate,
                published: published.clone(),
            }));
        }
        Ok(())
    }
}

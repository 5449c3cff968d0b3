//! The sequencer (DESIGN "Storage and the write path"): one thread that takes authenticated
//! submissions from a bounded queue, batches them (up to `batch_max` entries, waiting at most
//! `batch_interval` for more after the first), applies the log's rules in order, and writes the
//! batch (entries, tiles, records, status-map nodes, a closing map head entry and the signed
//! checkpoint of the new tree) in one atomic,
//! flushed storage commit. Then the largest signed tree is recorded beside the key
//! ([`crate::history`]), and only then is the new checkpoint published and every submitter
//! answered: nothing is acknowledged before it is durable and recorded.
//!
//! If a commit fails, the sequencer stops for good and refuses everything after: what is on
//! disk is then uncertain, and only a restart, which starts again from disk, is safe.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use certlog_log::rules::{self, Change, LogState, RuleError};
use certlog_log::tiles::{TILE_HEIGHT, TILE_WIDTH, TileHashReader};
use certlog_verifier::certificate;
use certlog_verifier::merkle::{CompactRange, NodeId, leaf_hash};
use certlog_verifier::proto::{
    CertifierRecord, Entry, MapHead, SignedStatement, Statement, StatusRecord, entry, statement,
};
use certlog_verifier::status_map::MapUpdate;
use certlog_verifier::{Checkpoint, Hash, SigningKey};
use prost::Message as _;
use tokio::sync::{oneshot, watch};

use crate::history::LargestSigned;
use crate::metrics::Metrics;
use crate::reader::StorageTiles;
use crate::status_map::{MapView, Opened, StatusMap};
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

/// What the sequencer's queue carries.
enum Message {
    /// A submission, and where to answer (boxed: the queue's slots stay small).
    Submit(Box<Submission>, Reply),
    /// Finish the batch being collected, then stop.
    Stop,
}

/// Submits to the sequencer; cheap to clone, one per request handler.
#[derive(Clone)]
pub struct SequencerHandle {
    queue: SyncSender<Message>,
    capacity: usize,
}

impl SequencerHandle {
    /// Asks the sequencer to integrate the batch it is collecting and stop; what is still queued
    /// after it was never acknowledged, and is refused. Blocks while the queue is full.
    pub fn stop(&self) {
        let _ = self.queue.send(Message::Stop);
    }

    /// Queues a submission and waits until it is durable (or refused).
    pub async fn submit(&self, submission: Submission) -> Result<Sequenced, SequenceError> {
        let (tx, rx) = oneshot::channel();
        match self
            .queue
            .try_send(Message::Submit(Box::new(submission), tx))
        {
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
        for level in 0..=certlog_log::tiles::MAX_TILE_LEVEL {
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
/// Certifier records read from storage are kept for the batch (a batch is mostly one
/// certifier's); status records are read through the batch's view of the status map, which
/// reads the records its update needs once for both.
struct BatchState<'a> {
    storage: &'a dyn Storage,
    map: &'a MapView<'a>,
    certifiers: HashMap<String, CertifierRecord>,
    certifiers_read: RefCell<HashMap<String, Option<CertifierRecord>>>,
    statuses: HashMap<Hash, StatusRecord>,
    /// The index at which the batch began.
    start: u64,
}

impl LogState for BatchState<'_> {
    type Error = StorageError;

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>, StorageError> {
        if let Some(r) = self.certifiers.get(name) {
            return Ok(Some(r.clone()));
        }
        if let Some(r) = self.certifiers_read.borrow().get(name) {
            return Ok(r.clone());
        }
        let record = self.storage.certifier(name)?;
        self.certifiers_read
            .borrow_mut()
            .insert(name.to_owned(), record.clone());
        Ok(record)
    }

    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, StorageError> {
        match self.statuses.get(key) {
            Some(r) => Ok(Some(r.clone())),
            None => self.map.status(key),
        }
    }

    fn batch_start_at(&self, time: i64) -> Result<u64, StorageError> {
        Ok(self.storage.batch_start_at(time)?.unwrap_or(self.start))
    }

    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>, StorageError> {
        let mut keys: BTreeSet<Hash> = self
            .storage
            .changed_by(certifier, from)?
            .into_iter()
            .collect();
        keys.extend(self.statuses.iter().filter_map(|(key, r)| {
            let by_it = r.certifier == certifier
                && r.history.iter().any(|s| !s.by_operator && s.index >= from);
            by_it.then_some(*key)
        }));
        Ok(keys.into_iter().collect())
    }
}

/// The sequencer's own state: the right edge of the tree and the partial tiles.
struct Sequencer {
    storage: Arc<dyn Storage>,
    log_key: SigningKey,
    signed: LargestSigned,
    config: BatchConfig,
    range: CompactRange,
    tiles: TileBuffers,
    map: Arc<StatusMap>,
    published: watch::Sender<Arc<Published>>,
    metrics: Arc<Metrics>,
    /// The time of the last map head: the next is not earlier.
    last_map_head_time: i64,
}

/// A batch that could not be written, and the submitters still to be told.
struct Failed {
    error: StorageError,
    waiting: Vec<Reply>,
}

impl Failed {
    fn answering(error: StorageError, waiting: Vec<(Reply, u64, Hash, bool)>) -> Failed {
        let waiting = waiting.into_iter().map(|(reply, ..)| reply).collect();
        Failed { error, waiting }
    }
}

/// A started sequencer.
pub struct Started {
    /// Submits to it.
    pub handle: SequencerHandle,
    /// The published state, already holding a signed checkpoint of the stored tree.
    pub published: watch::Receiver<Arc<Published>>,
    /// The status map, which the sequencer keeps up to date.
    pub map: Arc<StatusMap>,
    /// Its thread, which ends after its batch once every handle is dropped.
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts the sequencer over `storage`, resuming from what is on disk; `signed` must be the
/// record of a tree that storage holds (see [`crate::history::open`]).
pub fn start(
    storage: Arc<dyn Storage>,
    log_key: SigningKey,
    mut signed: LargestSigned,
    config: BatchConfig,
    metrics: Arc<Metrics>,
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
    signed.advance(size, root).map_err(recording)?;
    let opening = Instant::now();
    let (map, opened) = StatusMap::open(&*storage, size)?;
    let map = Arc::new(map);
    tracing::info!(
        size,
        rebuilt = (opened == Opened::Rebuilt),
        ms = opening.elapsed().as_millis() as u64,
        "status map opened"
    );
    metrics.started(size);
    let (published, rx) = watch::channel(Arc::new(Published {
        size,
        root,
        checkpoint,
    }));
    let (queue, submissions) = std::sync::mpsc::sync_channel(config.queue);
    let last_map_head_time = last_map_head_time(&*storage, size)?;
    let sequencer = Sequencer {
        last_map_head_time,
        storage,
        log_key,
        signed,
        config,
        range,
        tiles,
        map: map.clone(),
        published,
        metrics,
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
        map,
        thread,
    })
}

/// The time of the log's last entry, a map head (0 for an empty log).
fn last_map_head_time(storage: &dyn Storage, size: u64) -> Result<i64, StorageError> {
    let Some(last) = size.checked_sub(1) else {
        return Ok(0);
    };
    let bytes = storage
        .entry(last)?
        .ok_or_else(|| StorageError::Corrupt(format!("entry {last} is missing")))?;
    // Every batch ends with a map head; anything else (never written by the sequencer) has
    // no time to keep to.
    match certlog_verifier::entry::decode_entry(&bytes).map(|e| e.body) {
        Ok(Some(entry::Body::MapHead(head))) => Ok(head.timestamp),
        _ => Ok(0),
    }
}

/// A failure to record the largest signed tree, as storage's.
fn recording(e: crate::history::HistoryError) -> StorageError {
    StorageError::Backend(format!("recording the largest signed tree: {e}"))
}

fn sign(log_key: &SigningKey, size: u64, root: Hash) -> Result<String, StorageError> {
    Checkpoint::new(log_key.name(), size, root)
        .sign(log_key)
        .map(|c| c.to_text())
        .map_err(|e| StorageError::Backend(format!("signing the checkpoint: {e}")))
}

/// Milliseconds, for the log.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Sequencer {
    /// Appends a leaf to the tree, keeping the tile buffers and noting the tiles to write.
    fn append(
        &mut self,
        leaf: Hash,
        full_tiles: &mut Vec<(u8, u64, Vec<u8>)>,
        touched: &mut BTreeSet<u8>,
    ) {
        let tiles = &mut self.tiles;
        self.range.append(leaf, |node: NodeId, hash| {
            if node.level.is_multiple_of(TILE_HEIGHT) {
                let level = node.level / TILE_HEIGHT;
                touched.insert(level);
                if let Some(tile) = tiles.push(level, hash) {
                    full_tiles.push((level, node.index / u64::from(TILE_WIDTH), tile));
                }
            }
        });
    }

    /// Lets storage write to its files what the next start would otherwise replay (see
    /// [`Storage::flush`]); a failure only makes that start slower.
    fn flush_storage(&self) {
        let started = Instant::now();
        match self.storage.flush() {
            Ok(()) => tracing::info!(ms = ms(started.elapsed()), "storage flushed"),
            Err(e) => {
                tracing::warn!(error = %e, "storage not flushed: the next start replays its journal")
            }
        }
    }

    /// Takes batches from the queue until it is told to stop, every handle is gone, or a
    /// commit fails. Then it drops the queue (every handle gets "stopped"), and flushes storage
    /// unless a commit failed.
    fn run(mut self, queue: Receiver<Message>) {
        while let Ok(Message::Submit(submission, reply)) = queue.recv() {
            let mut batch = vec![(*submission, reply)];
            let mut stop = false;
            let deadline = Instant::now() + self.config.interval;
            while batch.len() < self.config.max_entries {
                let wait = deadline.saturating_duration_since(Instant::now());
                match queue.recv_timeout(wait) {
                    Ok(Message::Submit(s, r)) => batch.push((*s, r)),
                    Ok(Message::Stop) => {
                        stop = true;
                        break;
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Err(Failed { error: e, waiting }) = self.integrate(batch) {
                tracing::error!(error = %e, "commit failed: the log stops accepting entries");
                // The log is seen stopped (its published state gone) before anyone hears of
                // the failure, so that no later submission reads the failed storage instead.
                drop(self.published);
                for reply in waiting {
                    let _ = reply.send(Err(SequenceError::Storage(e.to_string())));
                }
                for message in queue.try_iter() {
                    if let Message::Submit(_, reply) = message {
                        let _ = reply.send(Err(SequenceError::Storage(e.to_string())));
                    }
                }
                return;
            }
            if stop {
                break;
            }
        }
        drop(queue);
        self.flush_storage();
    }

    /// Applies, writes and publishes one batch, then answers its submitters.
    fn integrate(&mut self, batch: Vec<(Submission, Reply)>) -> Result<(), Failed> {
        let start_size = self.range.size();
        let saved = (self.range.clone(), self.tiles.clone());
        let (storage, map) = (self.storage.clone(), self.map.clone());
        let started = Instant::now();
        // The status records the batch's rules and map update read, in key order.
        let mut keys: Vec<Hash> = batch
            .iter()
            .filter_map(|(sub, _)| rules::certificate_key(&sub.statement))
            .collect();
        keys.sort_unstable();
        let view = match map
            .view(&*storage)
            .and_then(|view| view.read_ahead(&keys).map(|()| view))
        {
            Ok(view) => view,
            Err(error) => {
                let waiting = batch.into_iter().map(|(_, reply)| reply).collect();
                return Err(Failed { error, waiting });
            }
        };
        let mut state = BatchState {
            storage: &*storage,
            map: &view,
            certifiers: HashMap::new(),
            certifiers_read: RefCell::default(),
            statuses: HashMap::new(),
            start: start_size,
        };
        let mut out = Batch::default();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut waiting: Vec<(Reply, u64, Hash, bool)> = Vec::with_capacity(batch.len());
        let mut touched: BTreeSet<u8> = BTreeSet::new();
        let published_now = self.published.borrow().clone();

        for (sub, reply) in batch {
            // Identical bytes are the same entry: answer with its index. (Identical bytes of a
            // stored entry always break the rules, which refuse a second issuance, a
            // registration or retirement of the same name, and a status change that does not
            // follow the certificate's last entry: storage is asked only after a refusal.)
            if let Some(&index) = in_batch.get(&sub.leaf_hash) {
                waiting.push((reply, index, sub.leaf_hash, true));
                continue;
            }
            let index = self.range.size();
            match rules::apply(&sub.signed, &sub.statement, index, &sub.leaf_hash, &state) {
                Err(e) => {
                    let answer = match self.storage.leaf_index(&sub.leaf_hash) {
                        Ok(Some(index)) => Ok(Sequenced {
                            index,
                            leaf_hash: sub.leaf_hash,
                            duplicate: true,
                            published: published_now.clone(),
                        }),
                        Ok(None) => Err(SequenceError::Rule(e)),
                        Err(e) => Err(SequenceError::Rule(RuleError::State(e))),
                    };
                    let _ = reply.send(answer);
                    continue;
                }
                Ok(Change::Certifier {
                    name,
                    record,
                    restored,
                }) => {
                    state.certifiers.insert(name.clone(), record.clone());
                    out.certifiers.push((name, record));
                    for (key, record) in restored {
                        state.statuses.insert(key, record.clone());
                        out.statuses.push((key, record, index));
                    }
                }
                Ok(Change::Status { key, record }) => {
                    state.statuses.insert(key, record.clone());
                    out.statuses.push((key, record, index));
                }
                Ok(Change::MapHead) => {}
            }
            if let Some(statement::Body::CertificateIssued(c)) = &sub.statement.body {
                let key = certificate::status_key(&c.scheme, &c.certificate_id);
                for d in c.product.iter().flat_map(|p| &p.firmware_digests) {
                    if let (true, Ok(digest)) =
                        (d.alg == "sha256", <[u8; 32]>::try_from(&d.digest[..]))
                    {
                        out.firmware.push((digest, index, key));
                    }
                }
            }
            self.append(sub.leaf_hash, &mut out.tiles, &mut touched);
            in_batch.insert(sub.leaf_hash, index);
            out.entries.push((index, sub.bytes, sub.leaf_hash));
            waiting.push((reply, index, sub.leaf_hash, false));
        }

        if self.range.size() == start_size {
            // Nothing new: only duplicates of stored entries and refusals, all answered.
            return Ok(());
        }
        // The batch ends with the map head of everything before it.
        let checked = Instant::now();
        drop(state);
        let mapped = {
            let mut update = MapUpdate::new(&view);
            for (key, record, _) in &out.statuses {
                update.set(*key, certificate::status_record_hash(record));
            }
            for (name, record) in &out.certifiers {
                update.set(
                    certificate::certifier_key(name),
                    certificate::certifier_record_hash(record),
                );
            }
            update.finish()
        };
        // The view reads the top: let it go before the top is updated.
        drop(view);
        let (map_root, map_changes) = match mapped {
            Ok(mapped) => mapped,
            Err(error) => {
                (self.range, self.tiles) = saved;
                return Err(Failed::answering(error, waiting));
            }
        };
        out.map_cells = crate::status_map::stored_cells(&map_changes);
        let head_index = self.range.size();
        // The log's time never goes back (a compromise time maps to one batch: rules.rs).
        let timestamp = unix_now().max(self.last_map_head_time);
        self.last_map_head_time = timestamp;
        out.map_head = Some((start_size, timestamp));
        let head = Entry {
            body: Some(entry::Body::MapHead(MapHead {
                root: map_root.0.to_vec(),
                tree_size: head_index,
                timestamp,
            })),
        }
        .encode_to_vec();
        let head_hash = leaf_hash(&head);
        self.append(head_hash, &mut out.tiles, &mut touched);
        out.entries.push((head_index, head, head_hash));

        let size = self.range.size();
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
        let mapped = Instant::now();
        let committed = sign(&self.log_key, size, root).and_then(|checkpoint| {
            out.checkpoint = checkpoint;
            self.storage.commit(&out)
        });
        if let Err(error) = committed {
            (self.range, self.tiles) = saved;
            return Err(Failed::answering(error, waiting));
        }
        // Durable: the map's top follows. (Should that fail, the log stops as after a failed
        // commit; a restart rebuilds the top from storage.)
        if let Err(error) = self.map.apply(&map_changes) {
            return Err(Failed::answering(error, waiting));
        }
        // Recorded before it leaves: a crash before this leaves the database ahead of the
        // record, and the batch unacknowledged.
        if let Err(error) = self.signed.advance(size, root) {
            return Err(Failed::answering(recording(error), waiting));
        }
        let published = Arc::new(Published {
            size,
            root,
            checkpoint: out.checkpoint,
        });
        self.published.send_replace(published.clone());
        self.metrics.batch(size - start_size, size);
        tracing::debug!(
            size,
            entries = size - start_size,
            rules_ms = ms(checked - started),
            map_ms = ms(mapped - checked),
            commit_ms = ms(mapped.elapsed()),
            "batch integrated"
        );
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reader::StorageTiles;
    use crate::storage::MemoryStorage;
    use crate::storage::failing::FailingStorage;
    use certlog_log::replay::Replay;
    use certlog_log::rules::Violation;
    use certlog_log::tiles::{TileId, TileReader, read_tile};
    use certlog_verifier::entry::{decode_entry, decode_statement, encode_entry, sign_statement};
    use certlog_verifier::merkle::{leaf_hash, root_of};
    use certlog_verifier::proto::{Certificate, CertifierRegistered, Product, statement};
    use certlog_verifier::{KeyType, SignedCheckpoint};
    use std::sync::atomic::Ordering;

    pub(crate) fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap()
    }

    pub(crate) fn submission(signer: &SigningKey, body: statement::Body) -> Submission {
        let bytes = encode_entry(sign_statement(signer, body).unwrap());
        let entry = decode_entry(&bytes).unwrap();
        let signed = certlog_verifier::entry::signed_statement(&entry)
            .unwrap()
            .clone();
        Submission {
            leaf_hash: leaf_hash(&bytes),
            statement: decode_statement(&signed).unwrap(),
            signed,
            bytes,
        }
    }

    fn register(operator: &SigningKey, certifier: &SigningKey) -> Submission {
        submission(
            operator,
            statement::Body::CertifierRegistered(CertifierRegistered {
                vkey: certifier.verifier_key().to_string(),
                schemes: vec!["EUCC".into()],
                registered_at: 1,
            }),
        )
    }

    pub(crate) fn issue(certifier: &SigningKey, id: u64) -> Submission {
        submission(
            certifier,
            statement::Body::CertificateIssued(Certificate {
                scheme: "EUCC".into(),
                certificate_id: format!("C-{id}"),
                product: Some(Product {
                    vendor: "V".into(),
                    name: "N".into(),
                    ..Default::default()
                }),
                issued_at: 10,
                not_after: 20,
                ..Default::default()
            }),
        )
    }

    const CONFIG: BatchConfig = BatchConfig {
        max_entries: 64,
        interval: Duration::from_millis(1),
        queue: 1024,
    };

    pub(crate) fn log_key() -> SigningKey {
        key("test.example/log", 1)
    }

    /// A sequencer over `storage` with [`log_key`] and [`CONFIG`], recording the largest tree
    /// it signed in memory.
    fn start_in_memory(storage: Arc<dyn Storage>) -> Started {
        let signed = LargestSigned::in_memory(log_key().name());
        start(storage, log_key(), signed, CONFIG, Default::default()).unwrap()
    }

    /// Checks everything stored against the entries alone: root, tiles, checkpoint, and the
    /// rules and status map replayed, whose every map head must match. Returns the number of
    /// statements (entries that are not map heads).
    fn check_stored(storage: &dyn Storage) -> u64 {
        let size = storage.size().unwrap();
        let entries = storage.entries(0, size).unwrap();
        assert_eq!(entries.len() as u64, size);
        let mut replay = Replay::new(key("op.example", 2).verifier_key());
        for e in &entries {
            replay.apply(e).unwrap();
        }
        let statements = size - replay.map_heads;
        // Every batch ends with a map head.
        assert!(matches!(
            decode_entry(entries.last().unwrap()).unwrap().body,
            Some(certlog_verifier::proto::entry::Body::MapHead(_))
        ));
        let (map, _) = StatusMap::open(storage, size).unwrap();
        assert_eq!(map.root().unwrap(), replay.map.root());
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let text = storage.checkpoint(size).unwrap().unwrap();
        let signed = SignedCheckpoint::verify(text.as_bytes(), &log_key().verifier_key()).unwrap();
        assert_eq!(signed.checkpoint.size, size);
        assert_eq!(signed.checkpoint.root, root_of(&leaves));
        for tile in certlog_log::tiles::hash_tiles_at(size) {
            if let certlog_log::tiles::TileLevel::Hashes(0) = tile.level {
                let stored = StorageTiles(storage)
                    .read_tile(0, tile.index, tile.width)
                    .unwrap();
                let start = tile.first_position() as usize;
                let want: Vec<u8> = leaves[start..start + usize::from(tile.width)]
                    .iter()
                    .flat_map(|h| h.0)
                    .collect();
                assert_eq!(&stored[..want.len()], &want[..], "{tile}");
            }
        }
        // Level-1 tiles hold the roots of full level-0 tiles.
        if size >= 256 {
            let reader = TileHashReader(StorageTiles(storage));
            let tile = read_tile(TileId::hashes(1, 0, 1), &reader).unwrap();
            assert_eq!(tile, root_of(&leaves[..256]).0.to_vec());
        }
        statements
    }

    #[tokio::test]
    async fn batches_apply_the_rules_and_answer_every_submitter() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let started = start_in_memory(storage.clone());
        let (operator, cb) = (key("op.example", 2), key("cb.example", 3));
        let seq = started.handle;
        seq.submit(register(&operator, &cb)).await.unwrap();
        // Issue, the same bytes again, the same certificate again, and a stranger's, at once.
        let stranger = key("stranger.example", 4);
        let (a, b, c, d) = tokio::join!(
            seq.submit(issue(&cb, 1)),
            seq.submit(issue(&cb, 1)),
            seq.submit(issue(&cb, 2)),
            seq.submit(issue(&stranger, 3)),
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(a.index, b.index);
        assert!(!a.duplicate && b.duplicate);
        assert!(!c.duplicate);
        match d {
            Err(SequenceError::Rule(e)) => assert_eq!(e.violation(), Violation::PermissionDenied),
            other => panic!("{other:?}"),
        }
        // Identical bytes of a stored entry: its index again, nothing appended.
        let again = seq.submit(issue(&cb, 2)).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.index, c.index);
        assert_eq!(check_stored(&*storage), 3);
    }

    #[tokio::test]
    async fn a_restart_resumes_the_same_tree_across_tile_boundaries() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let (operator, cb) = (key("op.example", 2), key("cb.example", 3));
        let mut id = 0;
        for round in 0..3 {
            let started = start_in_memory(storage.clone());
            let size = started.published.borrow().size;
            assert_eq!(size, storage.size().unwrap());
            if round == 0 {
                started
                    .handle
                    .submit(register(&operator, &cb))
                    .await
                    .unwrap();
            }
            // Concurrent submissions, so that batches hold many entries.
            let pending: Vec<_> = (0..150)
                .map(|_| {
                    id += 1;
                    let (handle, submission) = (started.handle.clone(), issue(&cb, id));
                    tokio::spawn(async move { handle.submit(submission).await })
                })
                .collect();
            for task in pending {
                task.await.unwrap().unwrap();
            }
            drop(started.handle);
            started.thread.join().unwrap();
        }
        assert_eq!(check_stored(&*storage), 451);
    }

    /// A sequencer over [`FailingStorage`] that lets `commits` commits through, and the key
    /// of a certifier it has registered (the operator's is `key("op.example", 2)`).
    pub(crate) async fn registered_on_failing_storage(
        commits: usize,
    ) -> (Arc<FailingStorage>, Started, SigningKey) {
        let storage = Arc::new(FailingStorage::new(commits));
        let started = start_in_memory(storage.clone());
        let (operator, cb) = (key("op.example", 2), key("cb.example", 3));
        started
            .handle
            .submit(register(&operator, &cb))
            .await
            .unwrap();
        (storage, started, cb)
    }

    #[tokio::test]
    async fn a_failed_write_is_never_acknowledged_and_stops_the_log() {
        // The empty tree's checkpoint, then the registration.
        let (storage, started, cb) = registered_on_failing_storage(2).await;
        let refused = started.handle.submit(issue(&cb, 1)).await;
        assert!(
            matches!(&refused, Err(SequenceError::Storage(m)) if m.contains("No space left")),
            "{refused:?}"
        );
        // What a client gets: UNAVAILABLE, naming the cause.
        let status = tonic::Status::from(crate::log::LogError::from(refused.unwrap_err()));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.message(),
            "the log cannot write: storage: No space left on device"
        );
        // The sequencer has ended (wait for it: until it has, a submission queued meanwhile
        // gets the commit's error): nothing is ever written after a failed commit, every later
        // submission is refused, and the published state's sender is gone.
        started.thread.join().unwrap();
        let later = started.handle.submit(issue(&cb, 2)).await;
        assert!(
            matches!(&later, Err(SequenceError::Storage(m)) if m == "the sequencer has stopped"),
            "{later:?}"
        );
        let status = tonic::Status::from(crate::log::LogError::from(later.unwrap_err()));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(started.published.has_changed().is_err());
        // The registration and its map head, nothing more, in storage and published.
        assert_eq!(storage.size().unwrap(), 2);
        assert_eq!(started.published.borrow().size, 2);
        assert_eq!(storage.inner.entries(0, 2).unwrap().len(), 2);
        assert!(storage.inner.checkpoint(3).unwrap().is_none());
        // Nor is storage flushed: it may be failing.
        assert!(storage.flushed_at.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stopped_sequencer_flushes_storage_once_after_its_last_commit() {
        let (storage, started, cb) = registered_on_failing_storage(usize::MAX).await;
        started.handle.submit(issue(&cb, 1)).await.unwrap();
        // A submission queued before the stop (this runtime has one thread: the task queues it
        // on its first poll, which the yield lets happen) is integrated before the flush;
        // storage refuses a commit after a flush.
        let queued = tokio::spawn({
            let (handle, submission) = (started.handle.clone(), issue(&cb, 2));
            async move { handle.submit(submission).await }
        });
        tokio::task::yield_now().await;
        assert!(storage.flushed_at.lock().unwrap().is_empty());
        started.handle.stop();
        started.thread.join().unwrap();
        let last = queued.await.unwrap().unwrap();
        assert_eq!(
            *storage.flushed_at.lock().unwrap(),
            vec![last.published.size]
        );
        let later = started.handle.submit(issue(&cb, 3)).await;
        assert!(
            matches!(&later, Err(SequenceError::Storage(m)) if m == "the sequencer has stopped"),
            "{later:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_read_of_the_status_map_is_answered_and_stops_the_log() {
        let (storage, started, cb) = registered_on_failing_storage(usize::MAX).await;
        // Three certificates whose keys share the first TOP_DEPTH bits: the third one's rules
        // and update read the first two's records from storage, below the map's top. (The
        // second one's update meets the first as a leaf of the top, whose key and value the
        // top keeps.)
        let mut same_position: HashMap<u32, Vec<u64>> = HashMap::new();
        let ids = (0u64..1 << 20)
            .find_map(|id| {
                let key = certificate::status_key("EUCC", &format!("C-{id}"));
                let first = u32::from_be_bytes([key.0[0], key.0[1], key.0[2], key.0[3]]);
                let bits = first >> (32 - u32::from(crate::status_map::TOP_DEPTH));
                let ids = same_position.entry(bits).or_default();
                ids.push(id);
                (ids.len() == 3).then(|| ids.clone())
            })
            .unwrap();
        for id in &ids[..2] {
            started.handle.submit(issue(&cb, *id)).await.unwrap();
        }
        storage.reads_fail.store(true, Ordering::SeqCst);
        let refused = started.handle.submit(issue(&cb, ids[2])).await;
        assert!(
            matches!(&refused, Err(SequenceError::Storage(m)) if m.contains("Input/output")),
            "{refused:?}"
        );
        started.thread.join().unwrap();
        assert_eq!(storage.size().unwrap(), 6);
        assert_eq!(check_stored(&storage.inner), 3);
    }
}

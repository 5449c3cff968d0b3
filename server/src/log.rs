//! The log as its front ends see it: submissions checked and sequenced, and every read answered
//! from the latest published (durable, signed) state, with its proof. The gRPC and HTTP modules
//! are thin over this.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use certlog_log::TileId;
use certlog_log::entry_bundle::MAX_ENTRY_SIZE;
use certlog_log::rules::{self, KeyCache, LogState, RuleError};
use certlog_log::tiles::{TileError, TileLevel};
use certlog_verifier::bundle::{self, Expected, Options, Policy};
use certlog_verifier::entry::{self, EntryError};
use certlog_verifier::merkle::{self, HashReader as _, NodeId, ProveError, leaf_hash};
use certlog_verifier::proto::{CertifierRecord, ProofBundle, Statement, StatusRecord};
use certlog_verifier::status_map;
use certlog_verifier::{Hash, VerifierKey, certificate};
use prost::Message as _;
use tokio::sync::watch;

use crate::cosigner::Cosigner;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use crate::reader::{CachedBundles, CachedTiles};
use crate::sequencer::{Published, SequenceError, Sequenced, SequencerHandle, Started, Submission};
use crate::status_map::StatusMap;
use crate::storage::{Storage, StorageError};

/// Hash tiles kept in memory with their subtree hashes, for proofs and `/tile/<L>/<N>`:
/// 1024 tiles, 16 MiB when full (every tile above level 0 of a log of 60 million entries).
const TILE_CACHE: usize = 1024;
/// Full entry bundles kept in memory as served (`/tile/entries/<N>`): 256, about 12 MiB for
/// certificate entries of 180 bytes.
const BUNDLE_CACHE: usize = 256;

/// How long a read waits for a batch being written to be published.
const PUBLISH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Which call a submission came through: certifiers submit certificates and status changes,
/// the operator registers and retires certifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `CertificateLog.Submit`.
    Certifier,
    /// `Admin.RegisterCertifier`.
    Register,
    /// `Admin.RetireCertifier`.
    Retire,
    /// `Admin.ChangeStatus`.
    OperatorStatus,
    /// `Admin.RotateCertifierKey`.
    Rotate,
}

impl Channel {
    /// Whether this call takes this statement.
    fn takes(self, statement: &Statement) -> bool {
        use certlog_verifier::proto::statement::Body;
        matches!(
            (self, &statement.body),
            (
                Channel::Certifier,
                Some(Body::CertificateIssued(_) | Body::StatusChanged(_))
            ) | (Channel::Register, Some(Body::CertifierRegistered(_)))
                | (Channel::Retire, Some(Body::CertifierRetired(_)))
                | (
                    Channel::OperatorStatus,
                    Some(Body::OperatorStatusChanged(_))
                )
                | (Channel::Rotate, Some(Body::CertifierKeyRotated(_)))
        )
    }

    fn expects(self) -> &'static str {
        match self {
            Channel::Certifier => {
                "Submit takes certificates and status changes; the registry goes to the Admin service"
            }
            Channel::Register => "RegisterCertifier takes a CertifierRegistered statement",
            Channel::Retire => "RetireCertifier takes a CertifierRetired statement",
            Channel::OperatorStatus => "ChangeStatus takes an operator_status_changed statement",
            Channel::Rotate => "RotateCertifierKey takes a CertifierKeyRotated statement",
        }
    }
}

/// Whose proof bundle.
#[derive(Clone, Debug)]
pub enum BundleTarget {
    /// A certificate by scheme and ID (absent ones get a proof of absence).
    Certificate {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
    },
    /// The first certificate that lists a firmware SHA-256.
    Firmware([u8; 32]),
}

/// How many times a bundle is built before giving up on a log that changes under it.
const BUNDLE_ATTEMPTS: usize = 5;

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log's rules refuse the entry.
    #[error("{0}")]
    Rule(#[from] RuleError<StorageError>),
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// A tree size or index beyond the log.
    #[error("{0}")]
    OutOfRange(String),
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Too many submissions are waiting.
    #[error("{0}")]
    Overloaded(String),
    /// Storage failed.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StorageError> for LogError {
    fn from(e: StorageError) -> LogError {
        LogError::Unavailable(e.to_string())
    }
}

impl From<SequenceError> for LogError {
    fn from(e: SequenceError) -> LogError {
        match e {
            SequenceError::Rule(e) => LogError::Rule(e),
            SequenceError::Overloaded(_) => LogError::Overloaded(e.to_string()),
            SequenceError::Storage(_) => LogError::Unavailable(e.to_string()),
        }
    }
}

impl From<ProveError<TileError<StorageError>>> for LogError {
    fn from(e: ProveError<TileError<StorageError>>) -> LogError {
        match e {
            ProveError::Read(e) => LogError::Unavailable(e.to_string()),
            e => LogError::OutOfRange(e.to_string()),
        }
    }
}

/// The rules' view of the committed log.
struct Committed<'a>(&'a dyn Storage);

impl LogState for Committed<'_> {
    type Error = StorageError;

    fn certifier(&self, name: &str) -> Result<Option<CertifierRecord>, StorageError> {
        self.0.certifier(name)
    }

    fn status(&self, key: &Hash) -> Result<Option<StatusRecord>, StorageError> {
        self.0.status(key)
    }

    fn batch_start_at(&self, time: i64) -> Result<u64, StorageError> {
        match self.0.batch_start_at(time)? {
            Some(start) => Ok(start),
            None => self.0.size(),
        }
    }

    fn changed_by(&self, certifier: &str, from: u64) -> Result<Vec<Hash>, StorageError> {
        self.0.changed_by(certifier, from)
    }
}

/// A running log.
pub struct Log {
    storage: Arc<dyn Storage>,
    tiles: CachedTiles,
    bundles: CachedBundles,
    sequencer: SequencerHandle,
    published: watch::Receiver<Arc<Published>>,
    map: Arc<StatusMap>,
    operator: VerifierKey,
    /// Certifier keys parsed so far, by their vkey string.
    keys: Mutex<KeyCache>,
    log_key: VerifierKey,
    cosigner: Cosigner,
    metrics: Arc<Metrics>,
    rate_limit: Option<RateLimit>,
}

impl Log {
    /// A log over `storage`, written by the `sequencer` started over it (whose handle, published
    /// state and status map it keeps), administered with `operator`'s key and signing with the
    /// key that `log_key` verifies.
    pub fn new(
        storage: Arc<dyn Storage>,
        sequencer: &Started,
        operator: VerifierKey,
        log_key: VerifierKey,
        cosigner: Cosigner,
        metrics: Arc<Metrics>,
    ) -> Log {
        Log {
            tiles: CachedTiles::new(storage.clone(), TILE_CACHE),
            bundles: CachedBundles::new(storage.clone(), BUNDLE_CACHE),
            storage,
            sequencer: sequencer.handle.clone(),
            published: sequencer.published.clone(),
            map: sequencer.map.clone(),
            operator,
            keys: Mutex::default(),
            log_key,
            cosigner,
            metrics,
            rate_limit: None,
        }
    }

    /// Limits each signer to `per_second` submissions a second (none when 0).
    pub fn with_rate_limit(mut self, per_second: u32) -> Log {
        self.rate_limit = (per_second > 0).then(|| RateLimit::new(per_second));
        self
    }

    /// The log's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The witnesses' cosigning.
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// The latest durable, signed state.
    pub fn published(&self) -> Arc<Published> {
        self.published.borrow().clone()
    }

    /// Checks an entry and appends it; returns once it is durable.
    pub async fn submit(&self, bytes: Vec<u8>, channel: Channel) -> Result<Sequenced, LogError> {
        let received = std::time::Instant::now();
        // The sequencer ends (and with it the published state's sender) only after a failed
        // commit, or at shutdown: say so, rather than what storage says of it.
        if self.published.has_changed().is_err() {
            return Err(LogError::Unavailable(
                "the log cannot write: it stopped after a failed commit (see its log); \
                 restart certlogd"
                    .into(),
            ));
        }
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(RuleError::Entry(EntryError::TooLarge(bytes.len())).into());
        }
        let decoded = entry::decode_entry(&bytes).map_err(RuleError::Entry)?;
        let signed = entry::signed_statement(&decoded)
            .ok_or_else(|| {
                LogError::InvalidArgument("map heads are written by the log alone".into())
            })?
            .clone();
        let statement = entry::decode_statement(&signed).map_err(RuleError::Entry)?;
        if !channel.takes(&statement) {
            return Err(RuleError::WrongService(channel.expects()).into());
        }
        let key = {
            // Parsing a key decompresses a curve point, a good part of a signature check: each
            // certifier key is parsed once. (The cache is only ever added to: a poisoned lock
            // leaves it whole.)
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            rules::signing_key_cached(
                &signed,
                &statement,
                &self.operator,
                &Committed(&*self.storage),
                &mut keys,
            )?
        };
        entry::verify_statement(&signed, &key).map_err(RuleError::Entry)?;
        if let Some(limit) = &self.rate_limit
            && !limit.take(&signed.signer, received)
        {
            return Err(LogError::Overloaded(format!(
                "{} is over its rate limit of {} submissions a second: retry later",
                signed.signer,
                limit.per_second()
            )));
        }
        let submission = Submission {
            leaf_hash: leaf_hash(&bytes),
            bytes,
            signed,
            statement,
        };
        let sequenced = self.sequencer.submit(submission).await?;
        self.metrics.integrated(received.elapsed());
        Ok(sequenced)
    }

    /// Checks and appends several entries, each as [`Log::submit`] does, queued together so
    /// that they land in the same integration batches; returns once all are durable or refused,
    /// one result per entry in order. One refused entry never affects the others.
    /// Signatures are checked one by one, strictly: see `entry::verify_statement` for why not in
    /// a batch.
    pub async fn submit_batch(
        &self,
        entries: Vec<Vec<u8>>,
        channel: Channel,
    ) -> Vec<Result<Sequenced, LogError>> {
        // Each future checks its entry and queues it on its first poll, so all are queued
        // before the first answer is awaited.
        futures_util::future::join_all(entries.into_iter().map(|e| self.submit(e, channel))).await
    }

    /// The size to answer for: the latest when `size` is 0, else `size` if the log has it.
    fn tree_size(&self, size: u64) -> Result<u64, LogError> {
        let latest = self.published().size;
        match size {
            0 => Ok(latest),
            s if s <= latest => Ok(s),
            s => Err(LogError::OutOfRange(format!(
                "tree size {s} is beyond the log's {latest}"
            ))),
        }
    }

    /// The log's current checkpoint, the one `/checkpoint` serves: with witnesses, the newest
    /// that their quorum cosigned (C2SP tlog-witness: clients that require cosignatures can
    /// check it), else the newest the log signed. Until the quorum cosigns one after a start,
    /// the newest the log signed.
    pub fn current_checkpoint(&self) -> String {
        match self.cosigner.witnessed() {
            Some(witnessed) => witnessed.checkpoint.clone(),
            None => self.published().checkpoint.clone(),
        }
    }

    /// The signed checkpoint of `size` (0: the current one, see [`Log::current_checkpoint`]),
    /// with the cosignatures gathered for it if it is recent.
    pub fn checkpoint(&self, size: u64) -> Result<String, LogError> {
        if size == 0 {
            return Ok(self.current_checkpoint());
        }
        let size = self.tree_size(size)?;
        self.checkpoint_if_signed(size)?.ok_or_else(|| {
            LogError::NotFound(format!("the log signed no checkpoint of size {size}"))
        })
    }

    /// The signed checkpoint of `size`, with the cosignatures gathered for it if it is recent,
    /// or none when the log signed none at that size.
    pub fn checkpoint_if_signed(&self, size: u64) -> Result<Option<String>, LogError> {
        if let Some(round) = self.cosigner.round(size) {
            return Ok(Some(round.checkpoint.clone()));
        }
        let latest = self.published();
        if size == latest.size {
            return Ok(Some(latest.checkpoint.clone()));
        }
        Ok(self.storage.checkpoint(size)?)
    }

    /// The entries `start..end`, within the published tree.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let size = self.published().size;
        if start >= end || end > size {
            return Err(LogError::OutOfRange(format!(
                "entries {start}..{end} are not a non-empty range within the tree size {size}"
            )));
        }
        Ok(self.storage.entries(start, end)?)
    }

    /// The index of the entry with a leaf hash, if it is in the published tree.
    pub fn leaf_index(&self, leaf: &Hash) -> Result<u64, LogError> {
        let size = self.published().size;
        match self.storage.leaf_index(leaf)? {
            Some(index) if index < size => Ok(index),
            _ => Err(LogError::NotFound(format!(
                "no entry with leaf hash {leaf}"
            ))),
        }
    }

    /// The inclusion proof of entry `index` in the tree of `size` (0: the latest). Returns the
    /// tree size used, the leaf hash and the proof.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(u64, Hash, Vec<Hash>), LogError> {
        let size = self.tree_size(size)?;
        let reader = &self.tiles.reader();
        let proof = merkle::inclusion_proof(index, size, &reader)?;
        let leaf = reader
            .read_hash(NodeId::new(0, index))
            .map_err(|e| LogError::Unavailable(e.to_string()))?;
        Ok((size, leaf, proof))
    }

    /// The consistency proof from `size1` to `size2` (0: the latest). Returns `size2` used.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<(u64, Vec<Hash>), LogError> {
        let size2 = self.tree_size(size2)?;
        let proof = merkle::consistency_proof(size1, size2, &&self.tiles.reader())?;
        Ok((size2, proof))
    }

    /// The status record of a certificate and the indexes of its entries.
    pub async fn status(
        &self,
        scheme: &str,
        certificate_id: &str,
    ) -> Result<(StatusRecord, Vec<u64>), LogError> {
        let key = certificate::status_key(scheme, certificate_id);
        let not_found = || {
            LogError::NotFound(format!(
                "certificate {scheme}/{certificate_id} is not in the log"
            ))
        };
        let record = self.storage.status(&key)?.ok_or_else(not_found)?;
        // Storage may hold a batch that is being flushed: answer once it is published.
        let mut published = self.published.clone();
        let durable = published.wait_for(|p| p.size > record.last_change_index);
        match tokio::time::timeout(PUBLISH_WAIT, durable).await {
            Ok(Ok(_)) => {}
            _ => {
                return Err(LogError::Unavailable(
                    "the log is not publishing new entries".into(),
                ));
            }
        }
        // A certificate whose record was never changed has no change to list (most have none:
        // this spares a range read). Otherwise a change committed since the record was read is
        // left out, as the record has it not.
        let changes = if record.last_change_index == record.issued_index {
            Vec::new()
        } else {
            self.storage.status_changes(&key)?
        };
        let indexes = std::iter::once(record.issued_index)
            .chain(
                changes
                    .into_iter()
                    .filter(|i| *i <= record.last_change_index),
            )
            .collect();
        Ok((record, indexes))
    }

    /// The proof bundle of a certificate, by scheme and ID or by firmware digest, proven against
    /// the latest checkpoint, with the consistency proof from `since` when it is not 0.
    ///
    /// Storage may already hold a batch that is not published yet; the bundle is checked with
    /// the verifier before it leaves, and built again over the next published state if a
    /// concurrent batch made it inconsistent.
    pub async fn bundle(&self, target: BundleTarget, since: u64) -> Result<ProofBundle, LogError> {
        let mut published = self.published.clone();
        for _ in 0..BUNDLE_ATTEMPTS {
            let snapshot = published.borrow_and_update().clone();
            let mut bundle = self.build_bundle(&target, since, &snapshot)?;
            let policy = Policy {
                log_key: &self.log_key,
                witnesses: &[],
                quorum: 0,
            };
            // The certificate asked for; by firmware, the one the index found, which must list it.
            let (expected, firmware_sha256) = match &target {
                BundleTarget::Certificate {
                    scheme,
                    certificate_id,
                } => (Expected::new(scheme, certificate_id), None),
                BundleTarget::Firmware(digest) => (
                    Expected::new(&bundle.scheme, &bundle.certificate_id),
                    Some(*digest),
                ),
            };
            let options = Options {
                now: i64::MAX,
                firmware_sha256,
                ..Options::default()
            };
            let verified =
                bundle::verify_bundle(&bundle.encode_to_vec(), &policy, &expected, &options);
            match verified {
                Ok(_) if !self.cosigner.enabled() => return Ok(bundle),
                Ok(_) => match self.cosigner.cosigned(snapshot.size).await {
                    Some(cosigned) => {
                        bundle.checkpoint = cosigned.checkpoint.clone();
                        return Ok(bundle);
                    }
                    // The witnesses moved on to a newer checkpoint: build it over that one.
                    None if self.cosigner.passed(snapshot.size) => {}
                    None => {
                        tracing::warn!(
                            size = snapshot.size,
                            "proof bundle sent without cosignatures: the witnesses did not answer"
                        );
                        return Ok(bundle);
                    }
                },
                Err(e) => {
                    tracing::debug!(error = %e, "bundle raced a batch: building it again");
                    let next = tokio::time::timeout(PUBLISH_WAIT, published.changed()).await;
                    if !matches!(next, Ok(Ok(()))) {
                        return Err(LogError::Unavailable(format!(
                            "cannot build the bundle: {e}"
                        )));
                    }
                }
            }
        }
        Err(LogError::Unavailable(
            "the log is changing too fast to build a bundle; retry".into(),
        ))
    }

    fn build_bundle(
        &self,
        target: &BundleTarget,
        since: u64,
        published: &Published,
    ) -> Result<ProofBundle, LogError> {
        let size = published.size;
        if size == 0 {
            return Err(LogError::NotFound("the log is empty".into()));
        }
        if since > size {
            return Err(LogError::OutOfRange(format!(
                "since {since} is beyond the log's tree size {size}: no consistency proof from it"
            )));
        }
        let key = match target {
            BundleTarget::Certificate {
                scheme,
                certificate_id,
            } => certificate::status_key(scheme, certificate_id),
            BundleTarget::Firmware(digest) => self.storage.firmware(digest)?.ok_or_else(|| {
                LogError::NotFound(format!(
                    "no certificate lists firmware with SHA-256 {}",
                    hex_string(digest)
                ))
            })?,
        };
        let proof = |index: u64| -> Result<(Vec<u8>, Vec<Vec<u8>>), LogError> {
            let bytes = self
                .storage
                .entry(index)?
                .ok_or_else(|| LogError::Unavailable(format!("entry {index} is missing")))?;
            let (_, _, hashes) = self.inclusion_proof(index, size)?;
            Ok((bytes, hashes.iter().map(|h| h.0.to_vec()).collect()))
        };
        let mut bundle = ProofBundle {
            checkpoint: published.checkpoint.clone(),
            map_head_index: size - 1,
            ..ProofBundle::default()
        };
        (bundle.map_head, bundle.map_head_proof) = proof(size - 1)?;
        match (self.storage.status(&key)?, target) {
            (Some(record), _) if record.issued_index < size => {
                bundle.entry = self.storage.entry(record.issued_index)?.ok_or_else(|| {
                    LogError::Unavailable(format!("entry {} is missing", record.issued_index))
                })?;
                bundle.entry_index = record.issued_index;
                let certifier = self.storage.certifier(&record.certifier)?.ok_or_else(|| {
                    LogError::Unavailable(format!("certifier {} is missing", record.certifier))
                })?;
                bundle.certifier = Some(certifier);
                bundle.scheme = record.scheme.clone();
                bundle.certificate_id = record.certificate_id.clone();
                bundle.status = Some(record);
            }
            (
                _,
                BundleTarget::Certificate {
                    scheme,
                    certificate_id,
                },
            ) => {
                bundle.scheme = scheme.clone();
                bundle.certificate_id = certificate_id.clone();
            }
            (_, BundleTarget::Firmware(_)) => {
                return Err(LogError::Unavailable(
                    "the certificate is not published yet".into(),
                ));
            }
        }
        let map = self.map.view(&*self.storage)?;
        bundle.status_proof = Some(status_map::prove(&map, &key)?.proof);
        if let Some(record) = &bundle.status {
            let certifier = certificate::certifier_key(&record.certifier);
            bundle.certifier_proof = Some(status_map::prove(&map, &certifier)?.proof);
        }
        if since > 0 && since < size {
            let (_, proof) = self.consistency_proof(since, size)?;
            bundle.consistency_from = since;
            bundle.consistency_proof = proof.iter().map(|h| h.0.to_vec()).collect();
        }
        Ok(bundle)
    }

    /// The bytes of a tile or entry bundle, if the published tree has it.
    pub fn tile(&self, tile: TileId) -> Result<Option<Bytes>, LogError> {
        if !tile.exists_at(self.published().size) {
            return Ok(None);
        }
        let bytes = match tile.level {
            TileLevel::Hashes(level) => {
                let nodes = self
                    .tiles
                    .tile(level, tile.index, usize::from(tile.width))
                    .map_err(|e| LogError::Unavailable(e.to_string()))?;
                let hashes = &nodes.hashes()[..usize::from(tile.width)];
                let mut bytes = Vec::with_capacity(hashes.len() * Hash::LEN);
                hashes.iter().for_each(|h| bytes.extend_from_slice(&h.0));
                Bytes::from(bytes)
            }
            TileLevel::Entries => self.bundles.bundle(tile.index, tile.width)?,
        };
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use certlog_verifier::SigningKey;
    use certlog_verifier::proto::{CertificateStatus, StatusChanged, statement};

    use super::*;
    use crate::sequencer::tests::{issue, key, log_key, registered_on_failing_storage, submission};
    use crate::storage::failing::FailingStorage;

    /// A log over [`FailingStorage`] with a certifier registered, and the certifier's key.
    async fn log_on_failing_storage() -> (Log, Arc<FailingStorage>, Started, SigningKey) {
        let (storage, started, cb) = registered_on_failing_storage(usize::MAX).await;
        let metrics = Arc::new(Metrics::default());
        let cosigner = Cosigner::start(
            Default::default(),
            storage.clone(),
            started.published.clone(),
            metrics.clone(),
        )
        .unwrap();
        let log = Log::new(
            storage.clone(),
            &started,
            key("op.example", 2).verifier_key(),
            log_key().verifier_key(),
            cosigner,
            metrics,
        );
        (log, storage, started, cb)
    }

    #[tokio::test]
    async fn a_status_leaves_out_a_change_committed_after_its_record_was_read() {
        let (log, storage, started, cb) = log_on_failing_storage().await;
        let issued = started.handle.submit(issue(&cb, 1)).await.unwrap().index;
        let revoke = submission(
            &cb,
            statement::Body::StatusChanged(StatusChanged {
                scheme: "EUCC".into(),
                certificate_id: "C-1".into(),
                issued_index: issued,
                previous_index: issued,
                status: CertificateStatus::Revoked.into(),
                reason: "key compromise".into(),
                effective_at: 15,
            }),
        );
        let revoked = started.handle.submit(revoke).await.unwrap().index;

        let (record, indexes) = log.status("EUCC", "C-1").await.unwrap();
        assert_eq!(indexes, vec![issued, revoked]);
        // A change storage lists that the record read before it does not know of.
        storage.late_change.store(true, Ordering::SeqCst);
        let (later_record, indexes) = log.status("EUCC", "C-1").await.unwrap();
        assert_eq!(later_record, record);
        assert_eq!(indexes, vec![issued, revoked]);
    }

    #[tokio::test]
    async fn a_status_never_changed_is_answered_without_reading_changes() {
        let (log, storage, started, cb) = log_on_failing_storage().await;
        let issued = started.handle.submit(issue(&cb, 1)).await.unwrap().index;
        // Range reads fail from here: the answer comes from the record alone.
        storage.reads_fail.store(true, Ordering::SeqCst);
        let (record, indexes) = log.status("EUCC", "C-1").await.unwrap();
        assert_eq!(record.last_change_index, issued);
        assert_eq!(indexes, vec![issued]);
    }
}

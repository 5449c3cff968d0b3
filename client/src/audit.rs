//! Auditing a log (DESIGN "Who uses it": auditors), over the C2SP tlog-tiles it serves: the
//! latest checkpoint must extend the one audited before, the entries must hash to its root
//! (RFC 9162 2.1.1, recomputed from the entries themselves), and they must follow the log's
//! rules with every map head matching the replayed status map ([`Replay`]). When something
//! does not hold, the auditor builds evidence that anyone can check offline with the log's key
//! ([`certlog_log::evidence`]), and checks it the same way before handing it out. An entry
//! served that is not the signed leaf is written down too, as what the auditor saw: the log does
//! not sign what it serves, so that file proves nothing to anyone else.
//!
//! An audit goes on from an [`AuditState`]: the checkpoint verified last, the right edge of its
//! tree and the state of the replay, so that only new entries are downloaded.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use certlog_log::evidence;
use certlog_log::replay::{Applied, Replay, ReplayError, ReplayParts};
use certlog_log::rules::MemoryState;
use certlog_log::tiles::{TILE_WIDTH, TileId};
use certlog_verifier::certificate::status_key;
use certlog_verifier::checkpoint::CheckpointError;
use certlog_verifier::entry;
use certlog_verifier::merkle::{self, CompactRange, Hash, leaf_hash};
use certlog_verifier::proto::{AuditState as StateMessage, CertificateStatus, PendingStatus};
use certlog_verifier::{SignedCheckpoint, VerifierKey};
use prost::Message as _;

use crate::tiles::{TileClient, TilesError, TreeTiles};

/// The version of the state format.
pub const STATE_VERSION: u32 = 2;

/// Entry bundles downloaded at once.
const BUNDLES_IN_FLIGHT: usize = 8;

/// Why an audit proved nothing either way.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log's tiles could not be read.
    #[error(transparent)]
    Tiles(#[from] TilesError),
    /// The log's latest checkpoint is not signed by its key, or malformed.
    #[error("the log's checkpoint does not verify: {0}")]
    Checkpoint(CheckpointError),
    /// The log serves an older tree than the one audited: a stale view, or a log that cannot
    /// show that it extends what it signed before; either way, nothing is proven.
    #[error(
        "the log serves a tree of size {served}, smaller than the audited tree of size \
         {audited}: nothing to audit and nothing proven"
    )]
    OlderTree {
        /// The size served.
        served: u64,
        /// The size audited.
        audited: u64,
    },
    /// The log served fewer entries than its tree has.
    #[error("the log served {got} of the {want} new entries")]
    MissingEntries {
        /// Entries received.
        got: u64,
        /// Entries expected.
        want: u64,
    },
    /// A task of the audit failed.
    #[error("an audit task failed: {0}")]
    Task(String),
}

impl AuditError {
    /// Whether the error may pass by itself: the network, or a view of the log that is not
    /// up to date yet.
    pub fn is_transient(&self) -> bool {
        match self {
            AuditError::Tiles(e) => !e.is_malformed(),
            AuditError::OlderTree { .. } => true,
            AuditError::Checkpoint(_) | AuditError::MissingEntries { .. } | AuditError::Task(_) => {
                false
            }
        }
    }
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state of this log, or is damaged.
    #[error("{path} is not an audit state of this log: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// What an audit established: the checkpoint verified, the right edge of its tree and the
/// replay after its last entry.
pub struct AuditState {
    checkpoint: Option<SignedCheckpoint>,
    range: CompactRange,
    replay: Replay,
}

impl AuditState {
    /// The state of the empty log, whose registry `operator` signs.
    pub fn new(operator: VerifierKey) -> AuditState {
        AuditState {
            checkpoint: None,
            range: CompactRange::new(),
            replay: Replay::new(operator),
        }
    }

    /// The checkpoint audited, none for the empty log.
    pub fn checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// The operator key the registry is checked with.
    pub fn operator(&self) -> &VerifierKey {
        self.replay.operator()
    }

    /// The audited tree size.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The replay: registry, statuses, status map.
    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// The state as a `certlog.v1.AuditState` message (proto/certlog/v1/audit.proto).
    pub fn to_bytes(&self) -> Vec<u8> {
        let state = &self.replay.state;
        StateMessage {
            version: STATE_VERSION,
            checkpoint: self
                .checkpoint
                .as_ref()
                .map(SignedCheckpoint::to_text)
                .unwrap_or_default(),
            operator_vkey: self.operator().to_string(),
            tree_edge: self.range.subtrees().iter().map(|h| h.0.to_vec()).collect(),
            certifiers: state.certifiers.values().cloned().collect(),
            statuses: state.statuses.values().cloned().collect(),
            pending: self
                .replay
                .pending_map_values()
                .into_iter()
                .map(|(key, value)| PendingStatus {
                    key: key.0.to_vec(),
                    value: value.map(|v| v.0.to_vec()).unwrap_or_default(),
                })
                .collect(),
            map_root: self.replay.map_root().0.to_vec(),
            map_heads: self.replay.map_heads,
            map_head_times: state.map_heads.iter().map(|(time, _)| *time).collect(),
            map_head_indexes: state.map_heads.iter().map(|(_, index)| *index).collect(),
        }
        .encode_to_vec()
    }

    /// Reads a state written by [`AuditState::to_bytes`], checking it: the checkpoint against
    /// the log's key, the tree edge against the checkpoint's root, and the rebuilt status map
    /// against the saved root.
    pub fn from_bytes(bytes: &[u8], log_key: &VerifierKey) -> Result<AuditState, String> {
        let m = StateMessage::decode(bytes).map_err(|e| e.to_string())?;
        if m.version != STATE_VERSION {
            return Err(format!(
                "format version {}, {STATE_VERSION} expected",
                m.version
            ));
        }
        let checkpoint = SignedCheckpoint::verify(m.checkpoint.as_bytes(), log_key)
            .map_err(|e| format!("checkpoint: {e}"))?;
        let operator: VerifierKey = m
            .operator_vkey
            .parse()
            .map_err(|e| format!("operator key: {e}"))?;
        let hash = |bytes: &[u8], what: &str| {
            Hash::from_slice(bytes).ok_or_else(|| format!("{what} is not 32 bytes"))
        };
        let edge = m
            .tree_edge
            .iter()
            .map(|h| hash(h, "a tree edge hash"))
            .collect::<Result<Vec<_>, _>>()?;
        let size = checkpoint.checkpoint.size;
        let range = CompactRange::from_parts(size, edge).map_err(|e| e.to_string())?;
        if range.root() != checkpoint.checkpoint.root {
            return Err("the tree edge does not hash to the checkpoint's root".into());
        }
        let mut state = MemoryState::default();
        for record in m.certifiers {
            let vkey: VerifierKey = record
                .vkey
                .parse()
                .map_err(|e| format!("certifier key: {e}"))?;
            state.certifiers.insert(vkey.name().to_string(), record);
        }
        for record in m.statuses {
            let key = status_key(&record.scheme, &record.certificate_id);
            state.statuses.insert(key, record);
        }
        if m.map_head_times.len() != m.map_head_indexes.len() {
            return Err("the map heads' times and indexes do not pair up".into());
        }
        state.map_heads = m
            .map_head_times
            .into_iter()
            .zip(m.map_head_indexes)
            .collect();
        let pending = m
            .pending
            .iter()
            .map(|p| {
                let value = match p.value.as_slice() {
                    [] => None,
                    v => Some(hash(v, "a pending map value")?),
                };
                Ok((hash(&p.key, "a pending key")?, value))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let parts = ReplayParts {
            state,
            pending,
            size,
            map_heads: m.map_heads,
        };
        let replay = Replay::from_parts(operator, parts).map_err(|e| e.to_string())?;
        if replay.map_root().0[..] != m.map_root[..] {
            return Err("the status records do not give the saved status map root".into());
        }
        Ok(AuditState {
            checkpoint: Some(checkpoint),
            range,
            replay,
        })
    }

    /// Reads the state file at `path`, `None` when there is none.
    pub fn load(path: &Path, log_key: &VerifierKey) -> Result<Option<AuditState>, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.into(),
                    source,
                });
            }
        };
        AuditState::from_bytes(&bytes, log_key)
            .map(Some)
            .map_err(|reason| StateError::Invalid {
                path: path.into(),
                reason,
            })
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        write_atomically(path, &self.to_bytes())
    }
}

/// Replaces the file at `path` with `bytes`: a temporary file beside it, flushed to disk, then
/// renamed over it, so that the file is always either the old one or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.into(),
        source,
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    // The rename itself reaches the disk with the directory (best effort: not every platform
    // opens directories).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// What the entries of an audit did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Certificates issued.
    pub certificates_issued: u64,
    /// Certificates revoked.
    pub revoked: u64,
    /// Certificates suspended.
    pub suspended: u64,
    /// Suspended certificates made active again.
    pub reinstated: u64,
    /// Certificates withdrawn.
    pub withdrawn: u64,
    /// Certifiers registered.
    pub certifiers_registered: u64,
    /// Certifiers retired.
    pub certifiers_retired: u64,
    /// Certifiers given a new key.
    pub certifier_keys_rotated: u64,
    /// Map heads checked.
    pub map_heads: u64,
}

impl Counts {
    fn add(&mut self, applied: Applied) {
        let n = match applied {
            Applied::CertificateIssued => &mut self.certificates_issued,
            Applied::StatusChanged(CertificateStatus::Revoked) => &mut self.revoked,
            Applied::StatusChanged(CertificateStatus::Suspended) => &mut self.suspended,
            Applied::StatusChanged(CertificateStatus::Withdrawn) => &mut self.withdrawn,
            Applied::StatusChanged(_) => &mut self.reinstated,
            Applied::CertifierRegistered => &mut self.certifiers_registered,
            Applied::CertifierRetired => &mut self.certifiers_retired,
            Applied::CertifierKeyRotated => &mut self.certifier_keys_rotated,
            Applied::MapHead => &mut self.map_heads,
        };
        *n += 1;
    }
}

/// The outcome of an audit that found the log consistent.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The tree size audited before.
    pub from_size: u64,
    /// The tree size audited now.
    pub tree_size: u64,
    /// Its root.
    pub root: Hash,
    /// New entries audited.
    pub entries: u64,
    /// Entries downloaded (the new ones, and the older ones of a partial bundle).
    pub downloaded: u64,
    /// What the new entries did.
    pub counts: Counts,
    /// Certificates in the log.
    pub certificates: u64,
    /// Certifiers ever registered.
    pub certifiers: u64,
    /// Map heads checked since the empty log.
    pub map_heads_total: u64,
    /// How long the audit took, in seconds.
    pub seconds: f64,
}

/// A misbehaviour found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// `fork`, `leaf_mismatch`, `rule_violation`, or `unproven` when no evidence could be
    /// built that holds offline.
    pub kind: &'static str,
    /// What was found.
    pub description: String,
    /// The evidence (a `certlog.v1.MisbehaviourEvidence`), checked with
    /// [`evidence::check`] before it is handed out.
    pub evidence: Option<Vec<u8>>,
    /// Whether the evidence proves the misbehaviour to anyone with the log's key (and the
    /// operator's); false for a leaf mismatch, which is the auditor's observation.
    pub proven: bool,
    /// The checkpoint audited.
    pub checkpoint: SignedCheckpoint,
}

/// What an audit found.
pub enum Outcome {
    /// Everything checked out: the state after the new checkpoint, and what was checked.
    Consistent {
        /// The state to save and go on from.
        state: Box<AuditState>,
        /// What was checked.
        summary: Summary,
    },
    /// The log misbehaved.
    Misbehaviour(Finding),
}

/// Progress of the entries: (done, total).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// An auditor of one log.
#[derive(Clone)]
pub struct Auditor {
    client: TileClient,
    log_key: VerifierKey,
}

/// What the replay of the new entries gave.
struct Replayed {
    state: AuditState,
    leaves: Vec<Hash>,
    violation: Option<ReplayError>,
    counts: Counts,
    downloaded: u64,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Auditor {
    /// An auditor of the log served by `client`, whose checkpoints `log_key` signs.
    pub fn new(client: TileClient, log_key: VerifierKey) -> Auditor {
        Auditor { client, log_key }
    }

    /// Audits the log's latest checkpoint from `state`: the state after it when everything
    /// checks out, or what the log did wrong.
    pub async fn audit(
        &self,
        state: AuditState,
        progress: Progress,
    ) -> Result<Outcome, AuditError> {
        let started = Instant::now();
        let text = self.client.checkpoint().await?;
        let new = SignedCheckpoint::verify(&text, &self.log_key).map_err(AuditError::Checkpoint)?;
        let (size1, size2) = (state.size(), new.checkpoint.size);
        let tiles = TreeTiles::new(self.client.clone(), size2);
        if let Some(old) = &state.checkpoint {
            if size2 < size1 {
                return Err(AuditError::OlderTree {
                    served: size2,
                    audited: size1,
                });
            }
            if let Some(finding) = self.check_consistency(old, &new, &tiles).await? {
                return Ok(Outcome::Misbehaviour(finding));
            }
        }
        let replayed = self.replay_new_entries(state, size2, progress).await?;
        let Replayed {
            mut state,
            leaves,
            violation,
            counts,
            downloaded,
        } = replayed;
        if state.range.root() != new.checkpoint.root {
            let finding = self.leaf_mismatch(&new, &tiles, size1, &leaves).await?;
            return Ok(Outcome::Misbehaviour(finding));
        }
        if let Some(error) = violation {
            let finding = self
                .rule_violation(&new, &tiles, state.operator(), error)
                .await?;
            return Ok(Outcome::Misbehaviour(finding));
        }
        state.checkpoint = Some(new.clone());
        let replay = &state.replay;
        let summary = Summary {
            from_size: size1,
            tree_size: size2,
            root: new.checkpoint.root,
            entries: size2 - size1,
            downloaded,
            counts,
            certificates: replay.state.statuses.len() as u64,
            certifiers: replay.state.certifiers.len() as u64,
            map_heads_total: replay.map_heads,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok(Outcome::Consistent {
            state: Box::new(state),
            summary,
        })
    }

    /// Checks that the tree of `new` extends the tree of `old`, with a consistency proof
    /// computed from the new tree's tiles: a fork, or `None` when it does.
    async fn check_consistency(
        &self,
        old: &SignedCheckpoint,
        new: &SignedCheckpoint,
        tiles: &TreeTiles,
    ) -> Result<Option<Finding>, AuditError> {
        let (o, n) = (&old.checkpoint, &new.checkpoint);
        if o.size == n.size {
            if o.root == n.root {
                return Ok(None);
            }
            let description = format!(
                "the log signed two trees of size {} with different roots: {} before, {} now",
                n.size, o.root, n.root
            );
            let evidence = evidence::fork(new, old, &[]);
            return Ok(Some(self.finding("fork", description, evidence, new, None)));
        }
        if o.size == 0 {
            return Ok(None);
        }
        let proof = tiles.full_consistency_proof(o.size).await?;
        let (root1, root2) = merkle::consistency_roots(o.size, n.size, &proof)
            .map_err(|e| TilesError::Proof(e.to_string()))?;
        if root2 != n.root {
            return Ok(Some(self.unproven(
                format!(
                    "the log's hash tiles give its tree of size {} the root {root2}, but its \
                     checkpoint signs {}",
                    n.size, n.root
                ),
                new,
            )));
        }
        if root1 == o.root {
            return Ok(None);
        }
        let description = format!(
            "the log's tree of size {} (root {}) does not extend the tree of size {} it signed \
             before (root {}): its first {} leaves hash to {root1}",
            n.size, n.root, o.size, o.root, o.size
        );
        let evidence = evidence::fork(new, old, &proof);
        Ok(Some(self.finding("fork", description, evidence, new, None)))
    }

    /// Downloads the entries from the audited size to `size2`, hashes them onto the tree edge
    /// and replays them (up to the first that the rules refuse). Three stages run at once: the
    /// downloads, the signature checks (on every core, [`PreVerifier`]), and the replay.
    async fn replay_new_entries(
        &self,
        mut state: AuditState,
        size2: u64,
        progress: Progress,
    ) -> Result<Replayed, AuditError> {
        let size1 = state.size();
        let total = size2 - size1;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2 * BUNDLES_IN_FLIGHT);
        let producer = tokio::spawn(download(self.client.clone(), size1, size2, tx));
        let pre = Arc::new(PreVerifier::new(&state.replay));
        let (checked_tx, checked_rx) = std::sync::mpsc::sync_channel::<Checked>(4);
        let checker = {
            let pre = pre.clone();
            tokio::task::spawn_blocking(move || {
                while let Some(bundle) = rx.blocking_recv() {
                    let checked = bundle.map(|(first, entries)| {
                        let verified = pre.verify(&entries);
                        (first, entries, verified)
                    });
                    let failed = checked.is_err();
                    if checked_tx.send(checked).is_err() || failed {
                        return;
                    }
                }
            })
        };
        let worker = tokio::task::spawn_blocking(move || {
            let mut leaves = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
            let (mut violation, mut counts, mut downloaded) = (None, Counts::default(), 0u64);
            progress(0, total);
            while let Ok(checked) = checked_rx.recv() {
                let (first, entries, verified) = checked?;
                downloaded += entries.len() as u64;
                let skip = usize::try_from(state.size().saturating_sub(first)).unwrap_or(0);
                let mut registered = false;
                for (entry, key) in entries.iter().zip(&verified).skip(skip) {
                    let leaf = leaf_hash(entry);
                    state.range.append(leaf, |_, _| {});
                    leaves.push(leaf);
                    if violation.is_none() {
                        match state.replay.apply_checked(entry, &leaf, key.as_deref()) {
                            Ok(applied) => {
                                registered |= applied == Applied::CertifierRegistered;
                                counts.add(applied)
                            }
                            Err(e) => violation = Some(e),
                        }
                    }
                }
                if registered {
                    pre.learn(&state.replay);
                }
                progress(leaves.len() as u64, total);
            }
            Ok::<_, AuditError>(Replayed {
                state,
                leaves,
                violation,
                counts,
                downloaded,
            })
        });
        let replayed = worker
            .await
            .map_err(|e| AuditError::Task(e.to_string()))??;
        for task in [producer, checker] {
            task.await.map_err(|e| AuditError::Task(e.to_string()))?;
        }
        let got = replayed.leaves.len() as u64;
        if got != total {
            return Err(AuditError::MissingEntries { got, want: total });
        }
        Ok(replayed)
    }

    /// The entries do not hash to the signed root: finds the first whose leaf hash is not the
    /// one the log's tiles hold, with the log's inclusion proof of that leaf.
    async fn leaf_mismatch(
        &self,
        new: &SignedCheckpoint,
        tiles: &TreeTiles,
        size1: u64,
        leaves: &[Hash],
    ) -> Result<Finding, AuditError> {
        let size2 = new.checkpoint.size;
        let signed = tiles.leaf_hashes(size1, size2).await?;
        let Some(offset) = leaves.iter().zip(&signed).position(|(a, b)| a != b) else {
            return Ok(self.unproven(
                format!(
                    "the entries {size1}..{size2} do not hash to the signed root {}, yet they \
                     are the leaves of the log's hash tiles: its tiles do not match its \
                     checkpoint",
                    new.checkpoint.root
                ),
                new,
            ));
        };
        let index = size1 + offset as u64;
        let proof = tiles.inclusion_proof(index).await?;
        let bundle = TileId::entries(
            index / u64::from(TILE_WIDTH),
            (size2 - index / u64::from(TILE_WIDTH) * u64::from(TILE_WIDTH))
                .min(u64::from(TILE_WIDTH)) as u16,
        );
        let entries = self.client.entry_bundle(bundle).await?;
        let entry = entries[(index % u64::from(TILE_WIDTH)) as usize].clone();
        let description = format!(
            "entry {index} as the log serves it has leaf hash {}, but the log's signed tree of \
             size {size2} holds {} at that index: the entry was changed after it was logged",
            leaves[offset], signed[offset]
        );
        let evidence = evidence::leaf_mismatch(new, index, entry, &signed[offset], &proof);
        Ok(self.finding("leaf_mismatch", description, evidence, new, None))
    }

    /// An entry of the signed tree breaks the rules: the evidence holds every entry up to it,
    /// downloaded again, and the consistency proof from their tree to the signed one.
    async fn rule_violation(
        &self,
        new: &SignedCheckpoint,
        tiles: &TreeTiles,
        operator: &VerifierKey,
        error: ReplayError,
    ) -> Result<Finding, AuditError> {
        let count = error.index() + 1;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2 * BUNDLES_IN_FLIGHT);
        let producer = tokio::spawn(download(self.client.clone(), 0, count, tx));
        let mut entries = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        while let Some(bundle) = rx.recv().await {
            entries.extend(bundle?.1);
        }
        producer
            .await
            .map_err(|e| AuditError::Task(e.to_string()))?;
        entries.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        let proof = tiles.consistency_proof(count).await?;
        let description = format!("the log's signed tree holds a forbidden entry: {error}");
        let evidence = evidence::rule_violation(new, entries, &proof, operator, &error);
        Ok(self.finding("rule_violation", description, evidence, new, Some(operator)))
    }

    /// A finding with its evidence, once the evidence is confirmed by the offline check, or
    /// checked as far as an observation goes; a finding without evidence otherwise.
    fn finding(
        &self,
        kind: &'static str,
        description: String,
        mut evidence: certlog_verifier::proto::MisbehaviourEvidence,
        new: &SignedCheckpoint,
        operator: Option<&VerifierKey>,
    ) -> Finding {
        evidence.description = description.clone();
        evidence.source = self.client.base().to_string();
        evidence.found_at = now();
        let bytes = evidence.encode_to_vec();
        let proven = match evidence::check(&bytes, &self.log_key, operator) {
            Ok(_) => true,
            Err(evidence::EvidenceError::ObservationOnly(_)) => false,
            Err(e) => {
                return self.unproven(
                    format!("{description} (but the evidence does not hold offline: {e})"),
                    new,
                );
            }
        };
        Finding {
            kind,
            description,
            evidence: Some(bytes),
            proven,
            checkpoint: new.clone(),
        }
    }

    /// A finding no evidence can show offline.
    fn unproven(&self, description: String, new: &SignedCheckpoint) -> Finding {
        Finding {
            kind: "unproven",
            description,
            evidence: None,
            proven: false,
            checkpoint: new.clone(),
        }
    }
}

/// A downloaded entry bundle: the index of its first entry, and its entries.
type Bundle = Result<(u64, Vec<Vec<u8>>), AuditError>;

/// An entry bundle whose signatures were checked: for each entry, the key its statement
/// signature verified with, if it was checked.
type Checked = Result<(u64, Vec<Vec<u8>>, Vec<Option<Arc<VerifierKey>>>), AuditError>;

/// Statement signatures checked ahead of the replay, on every core, with the keys of the
/// certifiers the replay has registered so far (and the operator's). A signature it cannot
/// check (a key registered in the same bundle, a malformed entry) is left to the replay, which
/// checks every rule anyway and skips only the signature check, and only when the key the
/// rules require is the one that verified it ([`Replay::apply_checked`]).
struct PreVerifier {
    keys: RwLock<BTreeMap<String, Arc<VerifierKey>>>,
    threads: usize,
}

impl PreVerifier {
    fn new(replay: &Replay) -> PreVerifier {
        let pre = PreVerifier {
            keys: RwLock::new(BTreeMap::new()),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        pre.learn(replay);
        pre
    }

    /// Takes in the keys of the operator and of every registered certifier.
    fn learn(&self, replay: &Replay) {
        let mut keys: BTreeMap<String, Arc<VerifierKey>> = replay
            .state
            .certifiers
            .iter()
            .filter_map(|(name, record)| {
                let key = record.vkey.parse().ok()?;
                Some((name.clone(), Arc::new(key)))
            })
            .collect();
        let operator = replay.operator();
        keys.insert(operator.name().to_string(), Arc::new(operator.clone()));
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
    }

    /// Checks the signatures of `entries`, split over the cores.
    fn verify(&self, entries: &[Vec<u8>]) -> Vec<Option<Arc<VerifierKey>>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let keys = &*keys;
        let chunk = entries.len().div_ceil(self.threads).max(1);
        std::thread::scope(|s| {
            let parts: Vec<_> = entries
                .chunks(chunk)
                .map(|part| {
                    let handle = s.spawn(move || {
                        part.iter()
                            .map(|e| verified_with(e, keys))
                            .collect::<Vec<_>>()
                    });
                    (part.len(), handle)
                })
                .collect();
            // A thread that failed checked nothing: the replay checks those signatures.
            parts
                .into_iter()
                .flat_map(|(len, handle)| handle.join().unwrap_or_else(|_| vec![None; len]))
                .collect()
        })
    }
}

/// The key, among `keys`, that the statement signature of `entry` verifies with.
fn verified_with(
    entry: &[u8],
    keys: &BTreeMap<String, Arc<VerifierKey>>,
) -> Option<Arc<VerifierKey>> {
    let decoded = entry::decode_entry(entry).ok()?;
    let signed = entry::signed_statement(&decoded)?;
    let key = keys.get(&signed.signer)?;
    entry::verify_statement(signed, key).ok()?;
    Some(key.clone())
}

/// Downloads the entry bundles that hold entries `start..end`, [`BUNDLES_IN_FLIGHT`] at a
/// time, and sends them in order; stops at the first error (which it sends) or when the
/// receiver is gone.
async fn download(client: TileClient, start: u64, end: u64, tx: tokio::sync::mpsc::Sender<Bundle>) {
    let width = u64::from(TILE_WIDTH);
    let mut in_flight = VecDeque::new();
    let mut tile = start / width;
    if start >= end {
        return;
    }
    loop {
        while in_flight.len() < BUNDLES_IN_FLIGHT && tile * width < end {
            let id = TileId::entries(tile, (end - tile * width).min(width) as u16);
            let client = client.clone();
            in_flight.push_back(tokio::spawn(async move {
                let entries = client.entry_bundle(id).await?;
                Ok((id.first_position(), entries))
            }));
            tile += 1;
        }
        let Some(next) = in_flight.pop_front() else {
            return;
        };
        let bundle = next
            .await
            .unwrap_or_else(|e| Err(AuditError::Task(e.to_string())));
        let failed = bundle.is_err();
        if tx.send(bundle).await.is_err() || failed {
            for task in in_flight {
                task.abort();
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use certlog_verifier::key::{KeyType, SigningKey};
    use certlog_verifier::proto::{Certificate, Product, statement};
    use certlog_verifier::{Checkpoint, status_map};

    fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap()
    }

    /// A state after a registration and two certificates, with no map head yet: the map is
    /// empty and both certificates are pending.
    fn sample() -> (AuditState, SigningKey) {
        let (log, op, cb) = (
            key("log.example", 1),
            key("op.example", 2),
            key("cb.example", 3),
        );
        let mut entries = vec![
            crate::register_certifier(&op, &cb.verifier_key(), vec!["EUCC".into()], 1).unwrap(),
        ];
        for id in ["A", "B"] {
            let body = statement::Body::CertificateIssued(Certificate {
                scheme: "EUCC".into(),
                certificate_id: id.into(),
                product: Some(Product {
                    vendor: "V".into(),
                    name: "N".into(),
                    ..Product::default()
                }),
                issued_at: 10,
                not_after: 20,
                ..Certificate::default()
            });
            entries.push(entry::encode_entry(
                entry::sign_statement(&cb, body).unwrap(),
            ));
        }
        let mut state = AuditState::new(op.verifier_key());
        for e in &entries {
            state.range.append(leaf_hash(e), |_, _| {});
            state.replay.apply(e).unwrap();
        }
        let c = Checkpoint::new("log.example", 3, state.range.root());
        state.checkpoint = Some(c.sign(&log).unwrap());
        (state, log)
    }

    #[test]
    fn a_state_reads_back_as_written() {
        let (state, log) = sample();
        let bytes = state.to_bytes();
        let back = AuditState::from_bytes(&bytes, &log.verifier_key()).unwrap();
        assert_eq!(back.size(), 3);
        assert_eq!(back.checkpoint(), state.checkpoint());
        assert_eq!(back.operator(), state.operator());
        let (a, b) = (back.replay(), state.replay());
        assert_eq!(a.state.statuses, b.state.statuses);
        assert_eq!(a.state.certifiers, b.state.certifiers);
        assert_eq!(a.map_root(), status_map::EMPTY);
        assert_eq!(a.pending_map_values(), b.pending_map_values());
        // The certifier's record and two certificates' records.
        assert_eq!(a.pending_map_values().len(), 3);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn a_damaged_state_or_another_logs_is_refused() {
        let (state, log) = sample();
        let message = StateMessage::decode(&state.to_bytes()[..]).unwrap();
        type Damage = Box<dyn Fn(&mut StateMessage)>;
        let damaged: [(&str, Damage); 6] = [
            ("version", Box::new(|m| m.version = 1)),
            ("map head times", Box::new(|m| m.map_head_times.push(1))),
            ("edge", Box::new(|m| m.tree_edge[0][0] ^= 1)),
            (
                "checkpoint",
                Box::new(|m| m.checkpoint = m.checkpoint.replace("\n3\n", "\n4\n")),
            ),
            ("map root", Box::new(|m| m.map_root = vec![1; 32])),
            ("pending", Box::new(|m| m.pending[0].key = vec![7; 32])),
        ];
        for (what, change) in damaged {
            let mut m = message.clone();
            change(&mut m);
            assert!(
                AuditState::from_bytes(&m.encode_to_vec(), &log.verifier_key()).is_err(),
                "a damaged {what} must be refused"
            );
        }
        let other = key("log.example", 9);
        assert!(AuditState::from_bytes(&state.to_bytes(), &other.verifier_key()).is_err());
        assert!(AuditState::from_bytes(b"not a state", &log.verifier_key()).is_err());
    }
}

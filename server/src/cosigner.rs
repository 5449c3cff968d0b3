//! Witness cosigning, the log's side of C2SP tlog-witness: after the log signs a checkpoint, it
//! sends it to each of its witnesses (`POST <url>/add-checkpoint`, with a consistency proof from
//! the size that witness last cosigned) and gathers their C2SP tlog-cosignature v1 lines.
//!
//! Cosigning runs beside the sequencer, never in its way: a witness that is slow or down delays
//! only the cosignatures. One round at a time, each for the newest checkpoint, or for an older
//! one somebody waits for (a proof bundle is built against one exact tree); checkpoints in
//! between are skipped. A witness whose size differs from the one assumed answers 409 with its
//! size, and the request is made again from there; a witness that fails is left alone for a
//! while (doubling up to [`MAX_BACKOFF`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use certlog_log::key_file;
use certlog_log::witness::{self, AddCheckpoint};
use certlog_verifier::cosignature;
use certlog_verifier::merkle::{self, Hash};
use certlog_verifier::note::{Note, NoteSignature};
use certlog_verifier::{KeyType, VerifierKey};
use tokio::sync::{Notify, watch};

use crate::metrics::Metrics;
use crate::reader::CachedTiles;
use crate::sequencer::Published;
use crate::storage::Storage;

/// The longest a failing witness is left alone before it is asked again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Recent rounds kept for those who wait for a given size.
const KEPT_ROUNDS: usize = 256;

/// Tiles cached for consistency proofs (the newest few, mostly).
const TILE_CACHE: usize = 64;

/// A witness of the log: where it listens and the key its cosignatures verify with.
#[derive(Clone, Debug)]
pub struct WitnessArg {
    /// The witness's URL prefix (`<url>/add-checkpoint`).
    pub url: String,
    /// Its verifier key, of the cosignature type.
    pub key: VerifierKey,
}

impl std::str::FromStr for WitnessArg {
    type Err = String;

    /// `URL=VKEY`, VKEY being the verifier key or a file holding it.
    fn from_str(arg: &str) -> Result<WitnessArg, String> {
        let (url, vkey) = arg
            .split_once('=')
            .ok_or_else(|| format!("{arg:?} is not URL=VKEY"))?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(format!("witness URL {url:?} is not http:// or https://"));
        }
        let key = key_file::verifier_key_arg(vkey).map_err(|e| format!("witness key: {e}"))?;
        key.expect_type(KeyType::CosignatureV1)
            .map_err(|e| format!("witness key {vkey}: {e}"))?;
        Ok(WitnessArg {
            url: url.trim_end_matches('/').to_owned(),
            key,
        })
    }
}

/// The witnesses and how many of them must cosign.
#[derive(Clone, Debug, Default)]
pub struct CosignerConfig {
    /// The witnesses.
    pub witnesses: Vec<WitnessArg>,
    /// How many must cosign a checkpoint before it is published as witnessed.
    pub quorum: usize,
    /// How long one request to a witness may take.
    pub timeout: Duration,
}

/// A checkpoint with the cosignatures one round gathered.
#[derive(Debug)]
pub struct Cosigned {
    /// The tree size.
    pub size: u64,
    /// The signed note: the log's signature, then the witnesses'.
    pub checkpoint: String,
    /// How many witnesses cosigned.
    pub cosignatures: usize,
}

/// Gathers cosignatures; cheap to clone.
#[derive(Clone)]
pub struct Cosigner(Arc<Shared>);

struct Shared {
    quorum: usize,
    /// How long a caller waits for a round: one in progress, then its own.
    wait: Duration,
    witnesses: usize,
    /// Recent rounds by size.
    rounds: Mutex<BTreeMap<u64, Arc<Cosigned>>>,
    /// Sizes somebody waits for.
    wanted: Mutex<BTreeSet<u64>>,
    wake: Notify,
    /// The size of the last round.
    done: watch::Sender<u64>,
    /// The newest checkpoint that the quorum cosigned.
    witnessed: watch::Sender<Option<Arc<Cosigned>>>,
}

impl Cosigner {
    /// Starts cosigning the checkpoints `published` announces, on the current tokio runtime.
    /// With no witnesses nothing runs and nothing is ever cosigned.
    pub fn start(
        config: CosignerConfig,
        storage: Arc<dyn Storage>,
        published: watch::Receiver<Arc<Published>>,
        metrics: Arc<Metrics>,
    ) -> Result<Cosigner, String> {
        let shared = Arc::new(Shared {
            quorum: config.quorum,
            wait: config.timeout.saturating_mul(2),
            witnesses: config.witnesses.len(),
            rounds: Mutex::default(),
            wanted: Mutex::default(),
            wake: Notify::new(),
            done: watch::Sender::new(0),
            witnessed: watch::Sender::new(None),
        });
        if !config.witnesses.is_empty() {
            let http = witness_client(config.timeout)
                .map_err(|e| format!("the HTTP client for witnesses: {e}"))?;
            let witnesses = config
                .witnesses
                .into_iter()
                .map(|arg| Arc::new(Witness::new(arg, http.clone(), metrics.clone())))
                .collect();
            let rounds = Rounds {
                shared: shared.clone(),
                witnesses,
                tiles: Arc::new(CachedTiles::new(storage.clone(), TILE_CACHE)),
                storage,
                published,
            };
            tokio::spawn(rounds.run());
        }
        Ok(Cosigner(shared))
    }

    /// Whether the log has witnesses.
    pub fn enabled(&self) -> bool {
        self.0.witnesses > 0
    }

    /// How many witnesses must cosign.
    pub fn quorum(&self) -> usize {
        self.0.quorum
    }

    /// The newest checkpoint that the quorum cosigned, if any did since the log started.
    pub fn witnessed(&self) -> Option<Arc<Cosigned>> {
        self.0.witnessed.borrow().clone()
    }

    /// The cosignatures gathered for the checkpoint of `size`, if a round was made for it.
    pub fn round(&self, size: u64) -> Option<Arc<Cosigned>> {
        lock(&self.0.rounds).get(&size).cloned()
    }

    /// Waits (two witness timeouts at most) for a checkpoint of at least `size` that the quorum
    /// cosigned.
    pub async fn witnessed_from(&self, size: u64) -> Option<Arc<Cosigned>> {
        let mut witnessed = self.0.witnessed.subscribe();
        let reached = witnessed.wait_for(|w| w.as_ref().is_some_and(|w| w.size >= size));
        match tokio::time::timeout(self.0.wait, reached).await {
            Ok(Ok(w)) => w.clone(),
            _ => None,
        }
    }

    /// Whether a round was made for `size` or a newer checkpoint.
    pub fn passed(&self, size: u64) -> bool {
        *self.0.done.borrow() >= size
    }

    /// The round for the checkpoint of exactly `size`, asking for one if none covered it yet;
    /// waits two witness timeouts at most. None when the round timed out, or when a newer
    /// checkpoint was cosigned instead (a witness cannot go back to an older one).
    pub async fn cosigned(&self, size: u64) -> Option<Arc<Cosigned>> {
        if !self.enabled() {
            return None;
        }
        let mut done = self.0.done.subscribe();
        if let Some(round) = self.round(size) {
            return Some(round);
        }
        if *done.borrow_and_update() >= size {
            return None;
        }
        lock(&self.0.wanted).insert(size);
        self.0.wake.notify_one();
        let finished = done.wait_for(|&d| d >= size);
        match tokio::time::timeout(self.0.wait, finished).await {
            Ok(Ok(_)) => self.round(size),
            _ => None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The HTTP client for witnesses. reqwest has no TLS provider of its own here: it gets a
/// rustls (ring) configuration with no roots, so only http:// witnesses can be reached until
/// certlogd takes a CA for its witnesses.
fn witness_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| e.to_string())
}

/// The task that makes the rounds.
struct Rounds {
    shared: Arc<Shared>,
    witnesses: Vec<Arc<Witness>>,
    tiles: Arc<CachedTiles>,
    storage: Arc<dyn Storage>,
    published: watch::Receiver<Arc<Published>>,
}

impl Rounds {
    async fn run(mut self) {
        loop {
            let Some((size, checkpoint)) = self.next() else {
                tokio::select! {
                    changed = self.published.changed() => if changed.is_err() { return },
                    () = self.shared.wake.notified() => {}
                }
                continue;
            };
            let round = self.round(size, &checkpoint).await;
            tracing::debug!(size, cosignatures = round.cosignatures, "witness round");
            let round = Arc::new(round);
            {
                let mut rounds = lock(&self.shared.rounds);
                rounds.insert(size, round.clone());
                while rounds.len() > KEPT_ROUNDS {
                    rounds.pop_first();
                }
            }
            if round.cosignatures >= self.shared.quorum {
                self.shared.witnessed.send_replace(Some(round));
            } else {
                tracing::warn!(
                    size,
                    cosignatures = round.cosignatures,
                    quorum = self.shared.quorum,
                    "checkpoint not cosigned by the witness quorum"
                );
            }
            lock(&self.shared.wanted).retain(|&s| s > size);
            self.shared.done.send_replace(size);
        }
    }

    /// The checkpoint the next round is for: the oldest one waited for, else the newest, if
    /// it is newer than the last round's.
    fn next(&mut self) -> Option<(u64, String)> {
        let done = *self.shared.done.borrow();
        let wanted = lock(&self.shared.wanted).range(done + 1..).next().copied();
        let published = self.published.borrow_and_update().clone();
        match wanted {
            Some(size) if size < published.size => match self.storage.checkpoint(size) {
                Ok(Some(checkpoint)) => Some((size, checkpoint)),
                Ok(None) | Err(_) => {
                    // Not a size the log signed: nobody can have it.
                    lock(&self.shared.wanted).remove(&size);
                    Some((published.size, published.checkpoint.clone()))
                }
            },
            _ if published.size > done => Some((published.size, published.checkpoint.clone())),
            _ => None,
        }
    }

    /// Asks every witness that is not in backoff, at once, and adds the cosignatures to the note.
    async fn round(&self, size: u64, checkpoint: &str) -> Cosigned {
        let mut tasks = tokio::task::JoinSet::new();
        for witness in &self.witnesses {
            if witness.resting() {
                continue;
            }
            let (witness, tiles, text) =
                (witness.clone(), self.tiles.clone(), checkpoint.to_owned());
            tasks.spawn(async move {
                let result = witness.cosign(size, &text, &tiles).await;
                witness.record(&result);
                result
            });
        }
        let mut note = match Note::parse(checkpoint.as_bytes()) {
            Ok(note) => note,
            Err(e) => {
                tracing::error!(size, error = %e, "the log's own checkpoint does not parse");
                return Cosigned {
                    size,
                    checkpoint: checkpoint.to_owned(),
                    cosignatures: 0,
                };
            }
        };
        let mut cosignatures = 0;
        while let Some(joined) = tasks.join_next().await {
            if let Ok(Ok(lines)) = joined {
                cosignatures += 1;
                for line in lines {
                    note.add_signature(line);
                }
            }
        }
        Cosigned {
            size,
            checkpoint: note.to_text(),
            cosignatures,
        }
    }
}

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
enum WitnessFailure {
    #[error("cannot reach the witness: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("the witness answered {status}: {reason}")]
    Refused { status: u16, reason: String },
    #[error("the witness has cosigned a larger tree ({0})")]
    Ahead(u64),
    #[error("no consistency proof from {0}: {1}")]
    Proof(u64, String),
    #[error("the witness's answer holds no valid cosignature of its key: {0}")]
    BadCosignature(String),
}

/// One witness, as the log knows it.
struct Witness {
    url: String,
    key: VerifierKey,
    http: reqwest::Client,
    state: Mutex<WitnessState>,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct WitnessState {
    /// The size the witness last cosigned, as far as the log knows.
    size: u64,
    /// Failures in a row, and when to ask again.
    failures: u32,
    rest_until: Option<Instant>,
}

impl Witness {
    fn new(arg: WitnessArg, http: reqwest::Client, metrics: Arc<Metrics>) -> Witness {
        Witness {
            url: format!("{}/add-checkpoint", arg.url),
            key: arg.key,
            http,
            state: Mutex::default(),
            metrics,
        }
    }

    fn resting(&self) -> bool {
        lock(&self.state)
            .rest_until
            .is_some_and(|until| Instant::now() < until)
    }

    fn record(&self, result: &Result<Vec<NoteSignature>, WitnessFailure>) {
        self.metrics.witness(self.key.name(), result.is_ok());
        let mut state = lock(&self.state);
        match result {
            Ok(_) => {
                state.failures = 0;
                state.rest_until = None;
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                let backoff = Duration::from_secs(1)
                    .saturating_mul(1 << state.failures.min(5).saturating_sub(1))
                    .min(MAX_BACKOFF);
                state.rest_until = Some(Instant::now() + backoff);
                tracing::warn!(witness = %self.key, error = %e, retry_in = ?backoff, "witness did not cosign");
            }
        }
    }

    /// Asks the witness to cosign the checkpoint of `size`; on 409, once more from the size
    /// the witness gave. Returns its cosignature lines, each checked with its key.
    async fn cosign(
        &self,
        size: u64,
        checkpoint: &str,
        tiles: &CachedTiles,
    ) -> Result<Vec<NoteSignature>, WitnessFailure> {
        let mut old = lock(&self.state).size;
        for _ in 0..2 {
            if old > size {
                return Err(WitnessFailure::Ahead(old));
            }
            let proof: Vec<Hash> = if old == 0 || old == size {
                Vec::new()
            } else {
                merkle::consistency_proof(old, size, &&tiles.reader())
                    .map_err(|e| WitnessFailure::Proof(old, e.to_string()))?
            };
            let request = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: checkpoint.as_bytes().to_vec(),
            };
            let response = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(request.to_bytes())
                .send()
                .await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            match status {
                200 => {
                    let lines = self.check_cosignatures(checkpoint, &body)?;
                    lock(&self.state).size = size;
                    return Ok(lines);
                }
                409 => match witness::parse_size_body(&body) {
                    Some(known) if known != old => {
                        lock(&self.state).size = known;
                        old = known;
                    }
                    _ => return Err(refused(status, &body)),
                },
                _ => return Err(refused(status, &body)),
            }
        }
        Err(WitnessFailure::Refused {
            status: 409,
            reason: "the witness's size keeps changing".into(),
        })
    }

    /// The lines of the answer that are valid cosignatures of this witness's key.
    fn check_cosignatures(
        &self,
        checkpoint: &str,
        body: &str,
    ) -> Result<Vec<NoteSignature>, WitnessFailure> {
        let bad = |e: String| WitnessFailure::BadCosignature(e);
        let lines = witness::parse_cosignatures(body).map_err(|e| bad(e.to_string()))?;
        let mut valid = Vec::new();
        for line in lines {
            let mut note = Note::parse(checkpoint.as_bytes()).map_err(|e| bad(e.to_string()))?;
            note.add_signature(line.clone());
            if cosignature::verify_quorum(&note, std::slice::from_ref(&self.key), 1).is_ok() {
                valid.push(line);
            }
        }
        if valid.is_empty() {
            return Err(bad("none verifies".into()));
        }
        Ok(valid)
    }
}

/// A refusal, with the start of the witness's reason.
fn refused(status: u16, body: &str) -> WitnessFailure {
    WitnessFailure::Refused {
        status,
        reason: body.trim().chars().take(200).collect(),
    }
}

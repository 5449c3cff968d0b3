//! certlog's witness: a C2SP tlog-witness server. It cosigns (C2SP tlog-cosignature v1) the
//! checkpoints of the logs it is configured with, each only if it is consistent with the last
//! checkpoint it cosigned for that log, so that a log cannot show two views of its history to
//! people who check the witness's cosignatures.
//!
//! The format and the checks are [`certlog_log::witness`]; this crate adds the durable
//! state ([`state`]), the HTTP interface ([`http`]), the witness's key and [`serve`].
//!
//! The data directory holds `witness.key` (the private key, mode 0600, `PRIVATE+KEY+...`),
//! `witness.vkey` (its verifier key, one line) and `logs/`, the latest cosigned checkpoint of each
//! log. Losing `logs/` while keeping the key would let the witness cosign a fork: it refuses to
//! start that way.

pub mod http;
pub mod state;

use std::future::{Future, IntoFuture as _};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use certlog_log::key_file::{self, KeyFileError};
use certlog_log::witness::{AddCheckpoint, Witnessed};
use certlog_verifier::note::NoteSignature;
use certlog_verifier::{KeyType, SigningKey, VerifierKey, cosignature};

pub use state::{AddError, StateError, WitnessState};

/// The private key file in the data directory.
pub const KEY_FILE: &str = "witness.key";
/// The verifier key file in the data directory.
pub const VKEY_FILE: &str = "witness.vkey";

/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a witness server runs with.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The data directory: key and state.
    pub data: PathBuf,
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The witness's name, the name of its key (used on first start only).
    pub name: String,
    /// The logs to witness: origin and the log's verifier key.
    pub logs: Vec<(String, VerifierKey)>,
}

/// Why the witness could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be made.
    #[error("creating the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is unreadable or malformed, or could not be written.
    #[error("{0}")]
    KeyFile(#[from] KeyFileError),
    /// The key in the data directory is not a witness key of this name.
    #[error("{}: {reason}", path.display())]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state of a witness whose key exists is gone: cosigning again could cosign a fork.
    #[error(
        "{} is missing but the witness key exists: without the latest cosigned checkpoints the witness could cosign a fork; restore it from a backup, or retire the key",
        path.display()
    )]
    StateLost {
        /// The missing directory.
        path: PathBuf,
    },
    /// The state could not be read.
    #[error("{0}")]
    State(#[from] StateError),
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server failed.
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// A witness: its key and the state of the logs it witnesses.
pub struct Witness {
    key: SigningKey,
    state: WitnessState,
}

impl std::fmt::Debug for Witness {
    /// The verifier key and the origins; never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("key", &self.key.verifier_key())
            .field("logs", &self.state.origins().collect::<Vec<_>>())
            .finish()
    }
}

/// Loads the witness key of `dir`, or creates it on first start, before any state exists.
fn load_or_create_key(dir: &Path, name: &str) -> Result<SigningKey, ServeError> {
    let path = dir.join(KEY_FILE);
    let logs = dir.join(state::LOGS_DIR);
    if path.exists() {
        let key = key_file::read_signing_key(&path)?;
        let wrong = |reason| ServeError::WrongKey {
            path: path.clone(),
            reason,
        };
        if key.key_type() != KeyType::CosignatureV1 {
            return Err(wrong(format!(
                "not a cosignature key (type 0x{:02x}, 0x04 needed)",
                key.key_type().byte()
            )));
        }
        if key.name() != name {
            return Err(wrong(format!(
                "the witness key is named {:?}, not {name:?}: start with --name {}",
                key.name(),
                key.name()
            )));
        }
        if !logs.is_dir() {
            return Err(ServeError::StateLost { path: logs });
        }
        return Ok(key);
    }
    let vkey = dir.join(VKEY_FILE);
    if vkey.exists() {
        return Err(ServeError::WrongKey {
            path,
            reason: format!(
                "missing, but {} exists: restore the key from a backup",
                vkey.display()
            ),
        });
    }
    // The state directory first: a key without it means the state was lost.
    std::fs::create_dir_all(&logs).map_err(|source| ServeError::DataDir {
        path: logs.clone(),
        source,
    })?;
    state::sync_dir(dir)?;
    let key = key_file::generate(name, KeyType::CosignatureV1)?;
    key_file::write_signing_key(&path, &key)?;
    key_file::write_verifier_key(&vkey, &key.verifier_key())?;
    tracing::info!(key = %key.verifier_key(), "created the witness key");
    Ok(key)
}

/// Seconds since the Unix epoch.
fn now() -> Result<u64, AddError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| AddError::Cosign("the clock is before 1970".into()))
}

impl Witness {
    /// Opens the witness of `data` (created if missing): its key, created on first start with
    /// the name `name`, and the state of `logs`.
    pub fn open(
        data: &Path,
        name: &str,
        logs: Vec<(String, VerifierKey)>,
    ) -> Result<Witness, ServeError> {
        std::fs::create_dir_all(data).map_err(|source| ServeError::DataDir {
            path: data.into(),
            source,
        })?;
        let key = load_or_create_key(data, name)?;
        let state = WitnessState::open(data, logs)?;
        Ok(Witness { key, state })
    }

    /// The witness's verifier key (type 0x04).
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    /// The latest cosigned size and root of a log.
    pub fn latest(&self, origin: &str) -> Option<Witnessed> {
        self.state.latest(origin)
    }

    /// Answers an add-checkpoint request body (C2SP tlog-witness): the cosignature lines, made at
    /// the current time once the checkpoint is durably the log's latest. Blocking (file I/O).
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<NoteSignature>, AddError> {
        let request = AddCheckpoint::parse(body)?;
        let signed = self.state.add_checkpoint(&request)?;
        let cosig = cosignature::cosign(&self.key, signed.note.text(), now()?)
            .map_err(|e| AddError::Cosign(e.to_string()))?;
        tracing::info!(
            origin = %signed.checkpoint.origin,
            old = request.old_size,
            size = signed.checkpoint.size,
            "cosigned"
        );
        Ok(vec![cosig])
    }
}

/// Runs a witness until `shutdown` completes. Prints `certlog witness listening on ADDR` on
/// stdout once bound (the port may have been 0); a closed stdout is only a warning.
pub async fn serve(
    config: WitnessConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let WitnessConfig {
        data,
        listen,
        name,
        logs,
    } = config;
    let witness = Arc::new(Witness::open(&data, &name, logs)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!(
        %addr,
        key = %witness.verifier_key(),
        logs = witness.state.origins().count(),
        "certlog witness serving"
    );
    // A witness whose announcement nobody reads (`| head -1` once head is done) goes on.
    if let Err(e) = writeln!(std::io::stdout(), "certlog witness listening on {addr}") {
        tracing::warn!("could not announce the address on stdout: {e}");
    }

    let (stop_serving, stopped) = tokio::sync::watch::channel(());
    let serving = axum::serve(listener, http::router(witness))
        .with_graceful_shutdown(async move {
            let mut stopped = stopped;
            let _ = stopped.changed().await;
        })
        .into_future();
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => result.map_err(ServeError::Serve)?,
        () = shutdown => {
            tracing::info!("shutting down");
            let _ = stop_serving.send(());
            // Requests in flight finish (their state is stored before they answer); a connection
            // that stays open is not waited for.
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut serving).await.is_err() {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
            }
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM: the shutdown a command line gives [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

//! The crash harness: certlogd under sustained concurrent load is killed with SIGKILL at random
//! moments and started again, over and over; then nothing it acknowledged may be missing or
//! changed, every checkpoint it ever sent must be consistent with the final tree, and the final
//! tree must pass a full `certlog audit`.
//!
//! Several tasks submit distinct certificates with `wait` through `certlog_client::Client`,
//! each recording every acknowledged (index, leaf hash, entry bytes) and the signed checkpoint
//! that came with it (checked by the client with the log's key). A submission that fails
//! because the log died is sent again, with the same bytes, to the restarted log: it was
//! either logged before the crash (and the log must answer with the same index) or not at all.
//! A "random moment" is a number of acknowledgements drawn from a seeded RNG: the log is killed
//! right after the cycle's k-th acknowledgement, while the other tasks' submissions are
//! queued, batched, being written or being answered. The seed is printed;
//! `CERTLOG_CRASH_SEED` replays a run.
//!
//! `a_short_crash_run` runs in CI (5 cycles). `a_long_crash_run` is ignored; run it with, e.g.,
//!
//! ```text
//! CERTLOG_CRASH_CYCLES=100 CERTLOG_CRASH_TASKS=8 CERTLOG_CRASH_ACKS=300 \
//!     cargo test -p certlog-tests --test crash a_long_crash_run -- --ignored --nocapture
//! ```
//!
//! Settings (environment): `CERTLOG_CRASH_CYCLES` kill/restart cycles, `CERTLOG_CRASH_TASKS`
//! concurrent submitters, `CERTLOG_CRASH_ACKS` the most acknowledgements before a kill,
//! `CERTLOG_CRASH_SEED` the seed, `CERTLOG_CRASH_STORAGE` certlogd's `--storage` (fjall,
//! redb or sled). `CERTLOG_BIN_DIR` runs other builds of the binaries (see the harness).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use certlog_client::{Client, ClientError};
use certlog_tests::{Log, PROCESS_TIMEOUT, certificate, describe, issue_entry};
use certlog_verifier::merkle::{self, CompactRange, leaf_hash};
use certlog_verifier::{Hash, SignedCheckpoint, SigningKey, VerifierKey};
use tokio::sync::{mpsc, watch};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// An acknowledged entry.
struct Ack {
    index: u64,
    leaf_hash: Hash,
    bytes: Vec<u8>,
    /// Whether the log had the bytes already: a submission cut by a kill after its commit.
    duplicate: bool,
    /// The checkpoint that came with the acknowledgement.
    checkpoint: SignedCheckpoint,
}

/// Audits the log from scratch with the real `certlog audit`, which must exit 0.
fn audit(log: &Log) {
    let state = log.work_path("audit.state");
    let _ = std::fs::remove_file(&state);
    let operator = log.data_dir().join("operator.vkey");
    let output = log.cli(&[
        "audit",
        "--state",
        &state,
        "--operator-vkey",
        operator.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "certlog audit: {}",
        describe(&output)
    );
}

/// A small seeded generator (SplitMix64): the kill moments of a run follow from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `1..=max`.
    fn between_1_and(&mut self, max: u64) -> u64 {
        1 + self.next() % max.max(1)
    }
}

/// The settings of a run.
struct Settings {
    cycles: u64,
    tasks: u64,
    max_acks: u64,
    seed: u64,
    storage: Option<String>,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

impl Settings {
    /// The settings from the environment, with these defaults.
    fn from_env(cycles: u64, tasks: u64, max_acks: u64) -> Settings {
        let seed = env_u64("CERTLOG_CRASH_SEED").unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_secs() ^ u64::from(now.subsec_nanos()) << 32
        });
        Settings {
            cycles: env_u64("CERTLOG_CRASH_CYCLES").unwrap_or(cycles),
            tasks: env_u64("CERTLOG_CRASH_TASKS").unwrap_or(tasks),
            max_acks: env_u64("CERTLOG_CRASH_ACKS").unwrap_or(max_acks),
            seed,
            storage: std::env::var("CERTLOG_CRASH_STORAGE").ok(),
        }
    }
}

/// Whether a failed submission failed because the log went away (its outcome unknown), as
/// opposed to a refusal, which would be a bug: every certificate of the run is new and valid.
fn log_went_away(error: &ClientError) -> bool {
    match error {
        ClientError::Connect { .. } => true,
        ClientError::Rpc(status) => matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        ),
        _ => false,
    }
}

/// One submitter: submits new certificates until told to stop; after a failure it waits for the
/// next start of the log and sends the same bytes again.
async fn submitter(
    task: u64,
    key: SigningKey,
    log_key: VerifierKey,
    mut url: watch::Receiver<String>,
    stop: Arc<AtomicBool>,
    next_id: Arc<AtomicU64>,
    acks: mpsc::UnboundedSender<Ack>,
) -> Result<u64, String> {
    let mut pending: Option<Vec<u8>> = None;
    let mut failures = 0;
    while !stop.load(Ordering::SeqCst) {
        let current = url.borrow_and_update().clone();
        if let Ok(mut client) = Client::connect(&current, Some(log_key.clone())).await {
            while !stop.load(Ordering::SeqCst) {
                let entry = pending.take().unwrap_or_else(|| {
                    let id = next_id.fetch_add(1, Ordering::SeqCst);
                    issue_entry(&key, certificate("EUCC", &format!("CRASH-{id}")))
                });
                let sent = client.submit(entry.clone(), true);
                let result = match tokio::time::timeout(PROCESS_TIMEOUT, sent).await {
                    Ok(result) => result,
                    Err(_) => {
                        return Err(format!("task {task}: no answer within {PROCESS_TIMEOUT:?}"));
                    }
                };
                match result {
                    Ok(receipt) => {
                        let (checkpoint, _) = receipt
                            .proof
                            .ok_or_else(|| format!("task {task}: a receipt without its proof"))?;
                        let ack = Ack {
                            index: receipt.index,
                            leaf_hash: receipt.leaf_hash,
                            bytes: entry,
                            duplicate: receipt.duplicate,
                            checkpoint,
                        };
                        if acks.send(ack).is_err() {
                            return Ok(failures);
                        }
                    }
                    Err(e) if log_went_away(&e) => {
                        failures += 1;
                        pending = Some(entry);
                        break;
                    }
                    Err(e) => return Err(format!("task {task}: refused: {e}")),
                }
            }
        }
        // The log is down: wait for its next start (or the end of the run).
        if !stop.load(Ordering::SeqCst) && url.changed().await.is_err() {
            break;
        }
    }
    Ok(failures)
}

/// What a run found.
#[derive(Debug)]
struct Figures {
    cycles: u64,
    acknowledged: usize,
    distinct_entries: usize,
    submissions_cut_by_a_kill: u64,
    /// Resubmissions of cut submissions that the log had committed before the kill.
    committed_before_the_kill: usize,
    checkpoints: usize,
    final_size: u64,
    lost: usize,
    inconsistent: usize,
}

/// Runs the harness with `settings`; returns its figures (the assertions are the caller's).
async fn run(settings: &Settings) -> Figures {
    println!(
        "crash run: seed {} (CERTLOG_CRASH_SEED to replay), {} cycles, {} tasks, at most {} \
         acknowledgements before each kill",
        settings.seed, settings.cycles, settings.tasks, settings.max_acks
    );
    let mut rng = Rng(settings.seed);
    let mut args = vec!["--batch-interval", "2"];
    if let Some(storage) = &settings.storage {
        args.extend(["--storage", storage.as_str()]);
    }
    let mut log = Log::start_with(&args);
    let cb = log.certifier("cb.example", &["EUCC"]);
    let log_key = log.log_vkey();

    let (url_tx, url_rx) = watch::channel(log.url());
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..settings.tasks)
        .map(|task| {
            tokio::spawn(submitter(
                task,
                cb.signing_key(),
                log_key.clone(),
                url_rx.clone(),
                stop.clone(),
                next_id.clone(),
                ack_tx.clone(),
            ))
        })
        .collect();
    drop(ack_tx);

    let mut acks: Vec<Ack> = Vec::new();
    // Checkpoints the log served outside acknowledgements: the latest before each kill.
    let mut served: Vec<SignedCheckpoint> = Vec::new();
    for cycle in 0..settings.cycles {
        let wanted = rng.between_1_and(settings.max_acks);
        let deadline = tokio::time::Instant::now() + PROCESS_TIMEOUT;
        for _ in 0..wanted {
            match tokio::time::timeout_at(deadline, ack_rx.recv()).await {
                Ok(Some(ack)) => acks.push(ack),
                Ok(None) => panic!("every submitter stopped: {:?}", join_all(tasks).await),
                Err(_) => panic!(
                    "cycle {cycle}: fewer than {wanted} acknowledgements within \
                     {PROCESS_TIMEOUT:?}\n{}",
                    log.stderr()
                ),
            }
        }
        // The latest checkpoint, then the kill, in the middle of the load.
        served.push(tokio::task::block_in_place(|| log.checkpoint()));
        log.kill();
        tokio::task::block_in_place(|| log.restart());
        url_tx.send_replace(log.url());
    }
    stop.store(true, Ordering::SeqCst);
    // Wake the tasks waiting for a start that will not come.
    drop(url_tx);
    let results = join_all(tasks).await;
    let mut cut = 0;
    for result in results {
        cut += result.unwrap_or_else(|e| panic!("a submitter failed: {e}"));
    }
    while let Some(ack) = ack_rx.recv().await {
        acks.push(ack);
    }

    let figures = check(&log, settings.cycles, cut, &acks, &served).await;
    println!("{figures}");
    figures
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "kill/restart cycles            {}", self.cycles)?;
        writeln!(f, "acknowledged entries           {}", self.acknowledged)?;
        writeln!(
            f,
            "  distinct                     {}",
            self.distinct_entries
        )?;
        writeln!(
            f,
            "submissions cut by a kill      {}",
            self.submissions_cut_by_a_kill
        )?;
        writeln!(
            f,
            "  committed before the kill    {}",
            self.committed_before_the_kill
        )?;
        writeln!(f, "checkpoints received           {}", self.checkpoints)?;
        writeln!(f, "final tree size                {}", self.final_size)?;
        writeln!(f, "acknowledged entries lost      {}", self.lost)?;
        write!(f, "inconsistent checkpoints       {}", self.inconsistent)
    }
}

async fn join_all(
    tasks: Vec<tokio::task::JoinHandle<Result<u64, String>>>,
) -> Vec<Result<u64, String>> {
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap_or_else(|e| Err(format!("panicked: {e}"))));
    }
    results
}

/// Checks the final tree against everything acknowledged and every checkpoint received, then
/// audits it with `certlog audit`.
async fn check(
    log: &Log,
    cycles: u64,
    cut: u64,
    acks: &[Ack],
    served: &[SignedCheckpoint],
) -> Figures {
    let mut client = log.client().await;
    let last = client.checkpoint(0).await.unwrap();
    let size = last.checkpoint.size;
    let entries = client.entries(0, size).await.unwrap();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();

    // Every acknowledged entry, at its index, byte for byte; and each entry at one index only.
    let mut lost = 0;
    for ack in acks {
        let logged = entries.get(ack.index as usize);
        if logged != Some(&ack.bytes) || leaves[ack.index as usize] != ack.leaf_hash {
            lost += 1;
            println!(
                "LOST: entry {} ({}) is not in the final tree as acknowledged",
                ack.index, ack.leaf_hash
            );
        }
    }
    let mut indexes: HashMap<&Hash, Vec<u64>> = HashMap::new();
    for (index, leaf) in leaves.iter().enumerate() {
        indexes.entry(leaf).or_default().push(index as u64);
    }
    let twice: Vec<_> = indexes.values().filter(|i| i.len() > 1).collect();
    assert!(twice.is_empty(), "entries logged twice, at {twice:?}");

    // Every checkpoint received: the root of the final tree's prefix of its size (recomputed
    // here), and consistent with the final tree by the log's proof, checked by the verifier.
    let mut checkpoints: BTreeMap<u64, Vec<&SignedCheckpoint>> = BTreeMap::new();
    for checkpoint in acks.iter().map(|a| &a.checkpoint).chain(served) {
        let same = checkpoints.entry(checkpoint.checkpoint.size).or_default();
        if !same
            .iter()
            .any(|c| c.checkpoint.root == checkpoint.checkpoint.root)
        {
            same.push(checkpoint);
        }
    }
    let mut inconsistent = 0;
    let mut range = CompactRange::new();
    let mut leaves_iter = leaves.iter();
    for (&old_size, received) in &checkpoints {
        while range.size() < old_size.min(size) {
            range.append(*leaves_iter.next().unwrap(), |_, _| {});
        }
        for checkpoint in received {
            let old = &checkpoint.checkpoint;
            let recomputed = old_size <= size && range.root() == old.root;
            let proven = match client.consistency_proof(old_size, size).await {
                Ok((size2, proof, _)) => {
                    size2 == size
                        && merkle::verify_consistency(
                            old_size,
                            size,
                            &old.root,
                            &last.checkpoint.root,
                            &proof,
                        )
                        .is_ok()
                }
                Err(_) => false,
            };
            if !(recomputed && proven) {
                inconsistent += 1;
                println!(
                    "INCONSISTENT: the checkpoint of size {old_size} with root {} \
                     (recomputed: {recomputed}, proven: {proven})",
                    old.root
                );
            }
        }
    }

    // The whole tree, audited from scratch by the real CLI: entries against the signed root,
    // the rules, the status map and every map head.
    audit(log);

    let mut distinct: Vec<&Hash> = acks.iter().map(|a| &a.leaf_hash).collect();
    distinct.sort();
    distinct.dedup();
    Figures {
        cycles,
        acknowledged: acks.len(),
        distinct_entries: distinct.len(),
        submissions_cut_by_a_kill: cut,
        committed_before_the_kill: acks.iter().filter(|a| a.duplicate).count(),
        checkpoints: checkpoints.values().map(Vec::len).sum(),
        final_size: size,
        lost,
        inconsistent,
    }
}

fn assert_sound(figures: &Figures) {
    assert_eq!(figures.lost, 0, "acknowledged entries lost: {figures:#?}");
    assert_eq!(
        figures.inconsistent, 0,
        "inconsistent checkpoints: {figures:#?}"
    );
    assert!(figures.acknowledged > 0);
}

/// The CI run: a few cycles, small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_crash_run() {
    let settings = Settings::from_env(5, 4, 20);
    let figures = run(&settings).await;
    assert_sound(&figures);
}

/// The long run: many cycles, from the environment (see the module documentation).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long: run with --ignored, settings from CERTLOG_CRASH_* (see the module docs)"]
async fn a_long_crash_run() {
    let settings = Settings::from_env(100, 8, 300);
    let started = Instant::now();
    let figures = run(&settings).await;
    println!("the long crash run took {:?}", started.elapsed());
    assert_sound(&figures);
}

/// The write-error case end to end, with no hook in certlogd: the size of the files it may
/// write is limited (RLIMIT_FSIZE, see `Bin::command_with_file_size_limit`), so that once its
/// database must grow past the limit a commit fails with EFBIG, as on a full disk. The entry of
/// the failed commit is not acknowledged (UNAVAILABLE, naming the cause), every later
/// submission is refused with UNAVAILABLE, reads go on, and after a restart without the limit
/// the log holds exactly what it acknowledged, takes the refused entry again, and passes an
/// audit.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_never_acknowledged_end_to_end() {
    use certlog_tests::assert_refused;

    /// The largest database file: a fresh one is smaller, and certificates of 60 KB fill the
    /// rest after a few dozen.
    const LIMIT: u64 = 4 << 20;
    // On redb, whose one file grows with the log. (fjall writes its journal into files it
    // sizes to 64 MiB up front, so a limit on the size of files stops it at its start, not at
    // a commit; its refusal of every write after a failed one is fjall's own "poisoned" state.)
    let mut log = Log::start_with_file_size_limit(&["--storage", "redb"], LIMIT);
    let cb = log.certifier("cb.example", &["EUCC"]);
    let key = cb.signing_key();
    let mut client = log.client().await;
    let big = |i: usize| {
        let mut c = certificate("EUCC", &format!("BIG-{i}"));
        c.ext.insert("pad".into(), "x".repeat(60_000));
        issue_entry(&key, c)
    };

    let mut acknowledged = Vec::new();
    let mut published = log.checkpoint();
    let (refused, error) = loop {
        let i = acknowledged.len();
        assert!(
            i < 1000,
            "{i} entries of 60 KB written under a limit of {LIMIT} bytes:\n{}",
            log.stderr()
        );
        let entry = big(i);
        match client.submit(entry.clone(), true).await {
            Ok(receipt) => {
                published = receipt.proof.unwrap().0;
                acknowledged.push((receipt.index, entry));
            }
            Err(e) => break (entry, e),
        }
    };
    println!(
        "the commit after {} acknowledged entries failed: {error}",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty(), "no entry fit under the limit");
    assert_refused(
        Err::<(), _>(error),
        Code::Unavailable,
        "the log cannot write: storage: I/O error: File too large",
    );
    // Nothing more is accepted, with the reason; nothing changed; health says NOT_SERVING,
    // so that an orchestrator restarts the log (storage may refuse reads as well now: redb
    // does until it is opened again).
    assert_refused(
        client
            .submit(issue_entry(&key, certificate("EUCC", "SMALL-1")), true)
            .await,
        Code::Unavailable,
        "the log cannot write: it stopped after a failed commit",
    );
    assert_eq!(log.checkpoint(), published);
    assert_eq!(log.health("").await, ServingStatus::NotServing as i32);
    assert_eq!(
        log.health("certlog.v1.CertificateLog").await,
        ServingStatus::NotServing as i32
    );
    assert!(
        log.stderr()
            .contains("commit failed: the log stops accepting entries"),
        "{}",
        log.stderr()
    );

    // Restarted without the limit: exactly what was acknowledged, and the log goes on.
    log.kill();
    log.remove_file_size_limit();
    log.restart();
    assert_eq!(log.checkpoint(), published);
    let mut client = log.client().await;
    let size = published.checkpoint.size;
    let entries = client.entries(0, size).await.unwrap();
    for (index, entry) in &acknowledged {
        assert_eq!(&entries[*index as usize], entry, "entry {index}");
    }
    assert_refused(
        client.inclusion_proof(Err(leaf_hash(&refused)), 0).await,
        Code::NotFound,
        "no entry with leaf hash",
    );
    let receipt = client.submit(refused, true).await.unwrap();
    assert!(!receipt.duplicate);
    assert_eq!(receipt.index, size);
    assert_eq!(log.health("").await, ServingStatus::Serving as i32);
    audit(&log);
}

//! `certlog audit`: audits a log over the C2SP tlog-tiles it serves, from the state of the last
//! audit (see [`crate::audit`]).

use std::io::{self, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use certlog_log::key_file;
use certlog_verifier::VerifierKey;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::Tls;
use crate::audit::{AuditState, Auditor, Finding, Outcome, Summary, write_atomically};
use crate::tiles::TileClient;

/// Audits the log: consistency, entries against the signed root, rules and status map.
///
/// Checks that the log's latest checkpoint extends the one audited last, that the new entries
/// hash to its signed root, and that they follow the log's rules with every map head matching
/// the status map replayed from the entries; then saves the new state.
///
/// The checkpoint, entries and hashes are read over HTTP (C2SP tlog-tiles: /checkpoint,
/// /tile/...) from --server, which certlogd serves on its gRPC address. The first audit starts
/// from the empty log; later ones download only the new entries.
///
/// The operator's key is given, not learnt from the log: an entry names its signer by key name
/// and key ID only, so the log cannot teach the key, and a key taken from what the log serves
/// would let a log that rewrote its registry vouch for itself. It is required for a new state
/// file and kept in it; later audits refuse another one.
///
/// When the log misbehaves (a fork, an entry the rules forbid, a wrong map head), the audit
/// writes evidence that `certlog-verify evidence` checks offline with the log's key (and, for
/// the rules, the operator's), and prints what it found. An entry the log serves that is not its
/// signed leaf is written down too, as the audit's record: the log does not sign what it
/// serves, so that file proves nothing to others.
///
/// Exit status: 0 the log is consistent; 1 misbehaviour found (evidence written when evidence
/// that holds offline can be built); 2 usage error, unreadable state or network failure
/// (nothing proven either way).
#[derive(clap::Args)]
pub struct Args {
    /// The state file: the checkpoint audited last and what the next audit goes on from
    /// (created when missing; replaced, atomically, only when everything checked out).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The operator's verifier key (or @FILE, or a file holding it), which signs the certifier
    /// registry; required for a new state file.
    #[arg(long, value_name = "VKEY")]
    operator_vkey: Option<String>,
    /// Where to write evidence of misbehaviour [default: the state file's name + .evidence].
    #[arg(long, value_name = "PATH")]
    evidence: Option<PathBuf>,
    /// Keeps auditing each new checkpoint, every --interval, until the log misbehaves; network
    /// failures are reported and retried.
    #[arg(long)]
    follow: bool,
    /// How often --follow polls the log's checkpoint.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        requires = "follow"
    )]
    interval: String,
}

/// Runs `certlog audit` and prints its outcome; returns the exit status.
pub async fn main(
    server: String,
    log_vkey: Option<String>,
    tls: Tls,
    json: bool,
    args: Args,
) -> ExitCode {
    match run(server, log_vkey, tls, json, args).await {
        Ok(code) => code,
        Err(e) => super::report(&e, json, ExitCode::from(2)),
    }
}

/// The state in the file, or the empty log's; the operator key must be the state's.
fn load_state(
    path: &Path,
    log_key: &VerifierKey,
    operator: Option<&VerifierKey>,
) -> anyhow::Result<AuditState> {
    match (AuditState::load(path, log_key)?, operator) {
        (Some(state), Some(given)) if state.operator() != given => bail!(
            "{} was audited with the operator key {}, not {given}",
            path.display(),
            state.operator()
        ),
        (Some(state), _) => Ok(state),
        (None, Some(operator)) => Ok(AuditState::new(operator.clone())),
        (None, None) => bail!(
            "--operator-vkey is required to start a new audit state ({} does not exist): it \
             checks the certifier registry",
            path.display()
        ),
    }
}

fn progress_bar(hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {human_pos}/{human_len} entries, {per_sec}, {eta} left",
    ) {
        bar.set_style(style);
    }
    bar
}

async fn run(
    server: String,
    log_vkey: Option<String>,
    tls: Tls,
    json: bool,
    args: Args,
) -> anyhow::Result<ExitCode> {
    let log_key = key_file::verifier_key_arg(log_vkey.as_deref().context(
        "--log-vkey is required: the audit checks every checkpoint against the log's key",
    )?)
    .context("--log-vkey")?;
    let operator = args
        .operator_vkey
        .as_deref()
        .map(key_file::verifier_key_arg)
        .transpose()
        .context("--operator-vkey")?;
    let interval = humantime::parse_duration(&args.interval)
        .with_context(|| format!("--interval {:?}", args.interval))?;
    let evidence_path = args.evidence.clone().unwrap_or_else(|| {
        let mut name = args.state.as_os_str().to_os_string();
        name.push(".evidence");
        PathBuf::from(name)
    });
    let auditor = Auditor::new(TileClient::new(&server, &tls)?, log_key.clone());
    let hide_progress = json || !std::io::stderr().is_terminal();
    let mut state = load_state(&args.state, &log_key, operator.as_ref())?;
    let mut first = true;
    loop {
        let bar = progress_bar(hide_progress);
        let shown = bar.clone();
        let progress = Arc::new(move |done: u64, total: u64| {
            shown.set_length(total);
            shown.set_position(done);
        });
        let operator_key = state.operator().clone();
        let result = auditor.audit(state, progress).await;
        bar.finish_and_clear();
        match result {
            Ok(Outcome::Consistent {
                state: next,
                summary,
            }) => {
                // Nothing new, nothing to write: a large state takes a while to write.
                if summary.entries > 0 || !args.state.exists() {
                    next.save(&args.state)?;
                }
                if first || summary.entries > 0 || !args.follow {
                    let printed = print_summary(&summary, &next, &args.state, json);
                    // A closed stdout ends even --follow, quietly.
                    if printed.is_err() {
                        return super::printed(printed, ExitCode::SUCCESS);
                    }
                }
                state = *next;
            }
            Ok(Outcome::Misbehaviour(finding)) => {
                let written = match &finding.evidence {
                    Some(bytes) => {
                        write_atomically(&evidence_path, bytes)?;
                        Some(evidence_path.as_path())
                    }
                    None => None,
                };
                let printed = print_finding(&finding, written, &log_key, &operator_key, json);
                return super::printed(printed, ExitCode::from(1));
            }
            Err(e) if args.follow && e.is_transient() => {
                let e = anyhow::Error::from(e);
                eprintln!("warning: {e:#}; trying again in {}", args.interval);
                state = load_state(&args.state, &log_key, operator.as_ref())?;
            }
            Err(e) => return Err(e.into()),
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        first = false;
        tokio::time::sleep(interval.max(Duration::from_millis(100))).await;
    }
}

fn print_summary(s: &Summary, state: &AuditState, path: &Path, json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let c = &s.counts;
    let rate = if s.seconds > 0.0 {
        s.entries as f64 / s.seconds
    } else {
        0.0
    };
    let origin = state
        .checkpoint()
        .map(|c| c.checkpoint.origin.as_str())
        .unwrap_or_default();
    if json {
        return writeln!(
            out,
            "{}",
            json!({
                "consistent": true,
                "origin": origin,
                "from_size": s.from_size,
                "tree_size": s.tree_size,
                "root": s.root.to_base64(),
                "entries": s.entries,
                "downloaded_entries": s.downloaded,
                "certificates_issued": c.certificates_issued,
                "status_changes": {
                    "revoked": c.revoked,
                    "suspended": c.suspended,
                    "reinstated": c.reinstated,
                    "withdrawn": c.withdrawn,
                },
                "certifiers_registered": c.certifiers_registered,
                "certifiers_retired": c.certifiers_retired,
                "certifier_keys_rotated": c.certifier_keys_rotated,
                "map_heads": c.map_heads,
                "totals": {
                    "certificates": s.certificates,
                    "certifiers": s.certifiers,
                    "map_heads": s.map_heads_total,
                },
                "seconds": s.seconds,
                "entries_per_second": rate,
                "state": path.display().to_string(),
            })
        );
    }
    writeln!(
        out,
        "consistent: {origin} at tree size {} (root {}) extends the audited size {}",
        s.tree_size, s.root, s.from_size
    )?;
    writeln!(
        out,
        "{} new entries audited ({} downloaded) in {:.2} s: {rate:.0} entries/s",
        s.entries, s.downloaded, s.seconds
    )?;
    writeln!(
        out,
        "certificates issued {}; status changes: revoked {}, suspended {}, reinstated {}, \
         withdrawn {}",
        c.certificates_issued, c.revoked, c.suspended, c.reinstated, c.withdrawn
    )?;
    writeln!(
        out,
        "certifiers registered {}, retired {}, given a new key {}; map heads checked {}",
        c.certifiers_registered, c.certifiers_retired, c.certifier_keys_rotated, c.map_heads
    )?;
    writeln!(
        out,
        "the log holds {} certificates from {} certifiers; {} map heads checked in all",
        s.certificates, s.certifiers, s.map_heads_total
    )?;
    writeln!(out, "state saved to {}", path.display())
}

fn print_finding(
    f: &Finding,
    evidence: Option<&Path>,
    log_key: &VerifierKey,
    operator: &VerifierKey,
    json: bool,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let c = &f.checkpoint.checkpoint;
    if json {
        return writeln!(
            out,
            "{}",
            json!({
                "consistent": false,
                "misbehaviour": f.kind,
                "description": f.description,
                "origin": c.origin,
                "tree_size": c.size,
                "root": c.root.to_base64(),
                "evidence": evidence.map(|p| p.display().to_string()),
                "proven": f.proven,
            })
        );
    }
    writeln!(out, "MISBEHAVIOUR ({}): {}", f.kind, f.description)?;
    let path = match evidence {
        Some(path) => path.display(),
        None => {
            return writeln!(
                out,
                "no evidence that holds offline could be built from what the log serves"
            );
        }
    };
    if !f.proven {
        return writeln!(
            out,
            "what the log served is written to {path}, as the audit's record: the log does not \
             sign what it serves, so it proves nothing to others (certlog-verify evidence says \
             so)"
        );
    }
    let operator = match f.kind {
        "rule_violation" => format!(" --operator-vkey {operator}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "evidence written to {path}; check it offline with:\n  certlog-verify evidence {path} \
         --log-vkey {log_key}{operator}"
    )
}

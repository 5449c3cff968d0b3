//! `certlog-verify`, the offline verifier (the binary is a call to [`main`]). It checks proof
//! bundles, RFC 6962 inclusion and consistency proofs, signed checkpoints with their witness
//! cosignatures, and evidence of misbehaviour, with nothing but the command line and local
//! files. Every check is a call into `certlog_verifier` (or `certlog_log` for evidence); this
//! crate only reads the arguments, classifies the library's errors and prints the outcome.
//!
//! Exit status: 0 valid (and, for a bundle, active; for evidence of misbehaviour, proven),
//! 1 does not verify, 2 usage error or unreadable input, 3 a bundle that verifies for a
//! certificate that is not active. A closed stdout (`| head -1`) changes none of these: the
//! process ends quietly with the status of its verdict.

mod bundle;
mod checkpoint;
mod consistency;
mod evidence;
mod inclusion;
mod input;

use std::io::{self, Write as _};
use std::process::ExitCode;

use certlog_verifier::checkpoint::CheckpointError;
use certlog_verifier::cosignature::CosignatureError;
use certlog_verifier::merkle::ProofError;
use certlog_verifier::note::NoteError;
use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};

/// Checks certlog proofs and checkpoints offline.
///
/// Hashes and proofs are standard base64, as in checkpoints. A proof is given as repeated
/// `--proof` flags, as one comma-separated list, or both; an empty proof by omitting `--proof`
/// or as `--proof ""`.
///
/// Exit status: 0 valid (and, for a bundle, active; for evidence, the misbehaviour is
/// proven); 1 does not verify (for evidence: it proves no misbehaviour); 2 usage error or
/// unreadable input (bad base64, bad verifier key, missing file, malformed checkpoint); 3 a
/// bundle that verifies for a certificate that is revoked, suspended, withdrawn, expired or
/// absent.
#[derive(Debug, Parser)]
#[command(name = "certlog-verify", version)]
struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

/// The checks, one module each.
#[derive(Debug, Subcommand)]
enum Command {
    Bundle(bundle::Args),
    Inclusion(inclusion::Args),
    Consistency(consistency::Args),
    Checkpoint(checkpoint::Args),
    Evidence(evidence::Args),
}

impl Command {
    /// The name of the check, as the JSON output's `check` field.
    fn name(&self) -> &'static str {
        match self {
            Command::Bundle(_) => "bundle",
            Command::Inclusion(_) => "inclusion",
            Command::Consistency(_) => "consistency",
            Command::Checkpoint(_) => "checkpoint",
            Command::Evidence(_) => "evidence",
        }
    }

    fn run(&self) -> Result<Verified, Error> {
        match self {
            Command::Bundle(args) => bundle::run(args),
            Command::Inclusion(args) => inclusion::run(args),
            Command::Consistency(args) => consistency::run(args),
            Command::Checkpoint(args) => checkpoint::run(args),
            Command::Evidence(args) => evidence::run(args),
        }
    }
}

/// What a successful check established.
struct Verified {
    /// The text after `OK: `.
    summary: String,
    /// Further lines of text, such as one per cosignature.
    details: Vec<String>,
    /// The fields of the JSON document besides `valid` and `check`.
    fields: Map<String, Value>,
    /// For a certificate that is valid but not active: its standing (exit status 3).
    standing: Option<&'static str>,
}

/// The fields of a `json!({...})` object literal.
fn json_fields(object: Value) -> Map<String, Value> {
    match object {
        Value::Object(fields) => fields,
        other => unreachable!("not a JSON object: {other}"),
    }
}

/// Why a check did not end in "valid", with the exit status that tells it apart.
#[derive(Debug)]
enum Error {
    /// The input is well formed but does not verify: exit status 1.
    Invalid(String),
    /// A usage error, or input that cannot be read or parsed: exit status 2.
    Usage(String),
}

impl Error {
    fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) => 1,
            Error::Usage(_) => 2,
        }
    }

    /// `Usage` for input that cannot be read or parsed, else `Invalid`.
    fn classify(malformed: bool, err: &impl std::fmt::Display) -> Error {
        if malformed {
            Error::Usage(err.to_string())
        } else {
            Error::Invalid(err.to_string())
        }
    }

    fn message(&self) -> &str {
        match self {
            Error::Invalid(message) | Error::Usage(message) => message,
        }
    }
}

// How the library's errors are classified: a value that cannot be parsed is exit status 2, a
// well-formed value that the check rejects is 1. Every variant is listed, so that a new one
// cannot be classified by accident.

impl From<ProofError> for Error {
    /// A proof that does not verify, including an index or sizes that no proof can join: the
    /// arguments were readable, the claim they make is false.
    fn from(err: ProofError) -> Error {
        match err {
            ProofError::IndexOutOfRange { .. }
            | ProofError::SizesOutOfOrder { .. }
            | ProofError::WrongLength { .. }
            | ProofError::RootMismatch { .. }
            | ProofError::EmptyTree
            | ProofError::DifferentRoots { .. } => Error::Invalid(err.to_string()),
        }
    }
}

/// Whether a note error means the bytes are not a signed note at all (rather than a note whose
/// signatures do not verify).
fn is_malformed_note(err: &NoteError) -> bool {
    match err {
        NoteError::NotUtf8
        | NoteError::ControlCharacter(_)
        | NoteError::MissingNewline
        | NoteError::MissingSignatureBlock
        | NoteError::MalformedSignature(_)
        | NoteError::NoSignatures
        | NoteError::TooManySignatures => true,
        NoteError::DuplicateSignature { .. }
        | NoteError::InvalidSignature { .. }
        | NoteError::UnverifiedNote(_) => false,
    }
}

impl From<CheckpointError> for Error {
    fn from(err: CheckpointError) -> Error {
        let malformed = match &err {
            CheckpointError::Note(note) => is_malformed_note(note),
            // A log key of the wrong type is a bad argument.
            CheckpointError::Key(_) => true,
            CheckpointError::MissingLine(_)
            | CheckpointError::EmptyOrigin
            | CheckpointError::InvalidSize(_)
            | CheckpointError::InvalidRoot(_)
            | CheckpointError::EmptyExtension => true,
            // Signed by the key, but for another log.
            CheckpointError::OriginMismatch { .. } => false,
        };
        Error::classify(malformed, &err)
    }
}

impl From<CosignatureError> for Error {
    fn from(err: CosignatureError) -> Error {
        let malformed = match &err {
            CosignatureError::Key(_) => true,
            CosignatureError::Note(note) => is_malformed_note(note),
            CosignatureError::TimestampTooLarge(_) | CosignatureError::QuorumNotMet { .. } => false,
        };
        Error::classify(malformed, &err)
    }
}

/// Runs `certlog-verify` with the process's arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(err),
    };
    let check = cli.command.name();
    let result = cli.command.run();
    let code = match &result {
        Ok(verified) => {
            if verified.standing.is_some() {
                3
            } else {
                0
            }
        }
        Err(err) => err.exit_code(),
    };
    exit(print_outcome(check, &result, cli.json), code)
}

/// Prints the outcome of a check on stdout (a usage error on stderr).
fn print_outcome(check: &str, result: &Result<Verified, Error>, json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match result {
        Ok(verified) if json => {
            let mut doc = Map::new();
            doc.insert("valid".into(), true.into());
            doc.insert("check".into(), check.into());
            doc.extend(verified.fields.clone());
            writeln!(out, "{}", Value::Object(doc))
        }
        Ok(verified) => {
            let label = verified.standing.map_or("OK".into(), str::to_uppercase);
            writeln!(out, "{label}: {}", verified.summary)?;
            for line in &verified.details {
                writeln!(out, "  {line}")?;
            }
            Ok(())
        }
        Err(err) if json => {
            let mut doc = json!({"valid": false, "check": check, "error": err.message()});
            if let Error::Usage(_) = err {
                doc["usage"] = true.into();
            }
            writeln!(out, "{doc}")
        }
        Err(Error::Invalid(message)) => writeln!(out, "INVALID: {message}"),
        Err(Error::Usage(message)) => {
            eprintln!("error: {message}");
            Ok(())
        }
    }
}

/// Exit status `code` once the outcome is printed, also when stdout's reader has gone (a closed
/// pipe, as `| head -1` leaves it): the verdict stands, and the process ends quietly. Any other
/// failure to write stdout is said on stderr, with exit status 2.
fn exit(printed: io::Result<()>, code: u8) -> ExitCode {
    match printed {
        Ok(()) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reports a command line clap refused (exit status 2), or prints the help or version it asked
/// for (exit status 0). With `--json` anywhere on the line, a refusal is a JSON document too.
fn clap_error(err: clap::Error) -> ExitCode {
    let wants_json = std::env::args_os().any(|arg| arg == "--json");
    if !err.use_stderr() || !wants_json {
        err.exit();
    }
    // The message is the rendered text up to the blank line before the usage.
    let rendered = err.render().to_string();
    let message = rendered
        .trim_start_matches("error: ")
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let doc = json!({"valid": false, "error": message, "usage": true});
    exit(writeln!(io::stdout(), "{doc}"), 2)
}

//! `certlog`, the command line (the binary is a call to [`main`]): one module per group of
//! commands. Each command returns an [`Output`]: a text for people and a JSON document for
//! `--json`.

mod audit;
mod bundle;
mod certifier;
mod keygen;
mod load;
mod load_read;
mod read;
mod status_change;
mod submit;
mod witness;

use std::path::{Path, PathBuf};

use crate::{Client, Tls};
use anyhow::Context as _;
use certlog_log::key_file;
use certlog_verifier::{SigningKey, VerifierKey};
use clap::{Parser, Subcommand};

/// The certlog client: publish product security certificates and check them.
#[derive(Parser)]
#[command(name = "certlog", version)]
pub struct Cli {
    /// The log's gRPC address (`https://` for a log that serves TLS).
    #[arg(
        long,
        global = true,
        env = "CERTLOG_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// The log's verifier key (or @FILE, or a file holding it): every checkpoint and proof the
    /// log sends is then checked against it.
    #[arg(long, global = true, env = "CERTLOG_LOG_VKEY")]
    pub log_vkey: Option<String>,
    /// CA certificates (PEM) that an https:// log's certificate must chain to; no other root
    /// is trusted.
    #[arg(long, global = true, env = "CERTLOG_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM) for a log that asks for one to register and retire
    /// certifiers (with --client-key).
    #[arg(
        long,
        global = true,
        env = "CERTLOG_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The private key of --client-cert (PEM).
    #[arg(
        long,
        global = true,
        env = "CERTLOG_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
    /// Prints one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Creates a key pair: writes the private key (mode 0600) and prints the verifier key.
    Keygen(keygen::Args),
    /// Registers or retires a certifier (with the operator's key).
    #[command(subcommand)]
    Certifier(certifier::Command),
    /// Publishes a certificate from a JSON file, signed with the certifier's key.
    Submit(submit::Args),
    /// Revokes a certificate (final).
    Revoke(status_change::Args),
    /// Suspends a certificate.
    Suspend(status_change::Args),
    /// Makes a suspended certificate active again.
    Reinstate(status_change::Args),
    /// Withdraws a certificate (final).
    Withdraw(status_change::Args),
    /// Shows the status of a certificate.
    Status(read::StatusArgs),
    /// Shows an entry of the log.
    Get(read::GetArgs),
    /// Prints the inclusion proof of an entry, in the form certlog-verify takes.
    Prove(read::ProveArgs),
    /// Prints the latest signed checkpoint.
    Checkpoint(read::CheckpointArgs),
    /// Writes the proof bundle of a certificate, for certlog-verify bundle.
    Bundle(bundle::Args),
    /// Generates load: submits many distinct certificates and reports rates and latencies.
    Load(load::Args),
    // Documented on its arguments: the help is long.
    Audit(audit::Args),
    /// Runs a witness that cosigns the logs' checkpoints (C2SP tlog-witness).
    #[command(subcommand)]
    Witness(witness::Command),
}

/// Runs `certlog` with the process's arguments.
pub fn main() -> std::process::ExitCode {
    use clap::Parser as _;
    let Cli {
        server,
        log_vkey,
        json,
        ca,
        client_cert,
        client_key,
        command,
    } = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from);
    // The audit tells its outcomes apart by exit status, and prints as it goes.
    if let Command::Audit(args) = command {
        let tls = Tls::from_files(ca.as_deref(), client_cert.as_deref(), client_key.as_deref())
            .map_err(anyhow::Error::from);
        return match (runtime, tls) {
            (Ok(runtime), Ok(tls)) => {
                runtime.block_on(audit::main(server, log_vkey, tls, json, args))
            }
            (Err(e), _) | (_, Err(e)) => report(&e, false, std::process::ExitCode::from(2)),
        };
    }
    let args = Cli {
        server,
        log_vkey,
        json,
        ca,
        client_cert,
        client_key,
        command,
    };
    let result = runtime.and_then(|runtime| runtime.block_on(run(args)));
    let failure = std::process::ExitCode::FAILURE;
    match result.and_then(|output| printed(output.print(json), std::process::ExitCode::SUCCESS)) {
        Ok(code) => code,
        Err(e) => report(&e, json, failure),
    }
}

/// `status` once a command's output is printed, also when stdout's reader has gone (a closed
/// pipe, as `| head -1` leaves it: the process ends quietly with the status it would have had);
/// the error of any other failure to write.
pub fn printed(
    result: std::io::Result<()>,
    status: std::process::ExitCode,
) -> anyhow::Result<std::process::ExitCode> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
        _ => Ok(status),
    }
}

/// Reports an error as a JSON document on stdout or a line on stderr; returns `status`.
pub fn report(
    e: &anyhow::Error,
    json: bool,
    status: std::process::ExitCode,
) -> std::process::ExitCode {
    use std::io::Write as _;
    if json {
        let doc = serde_json::json!({ "error": format!("{e:#}") });
        // Nothing more to say when stdout is gone.
        let _ = writeln!(std::io::stdout(), "{doc}");
    } else {
        eprintln!("error: {e:#}");
    }
    status
}

/// What a command prints.
pub struct Output {
    /// For people.
    pub text: String,
    /// For `--json`.
    pub json: serde_json::Value,
}

impl Output {
    /// Prints the text or the JSON document.
    pub fn print(&self, json: bool) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if json {
            writeln!(out, "{}", self.json)
        } else if self.text.ends_with('\n') {
            write!(out, "{}", self.text)
        } else {
            writeln!(out, "{}", self.text)
        }
    }
}

/// What every command that talks to the log needs.
pub struct Context {
    server: String,
    log_vkey: Option<VerifierKey>,
    tls: Tls,
}

impl Context {
    /// Connects to the log.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        match Client::connect_with(&self.server, self.log_vkey.clone(), &self.tls).await {
            Ok(client) => Ok(client),
            Err(e @ crate::ClientError::Connect { .. })
                if self.tls.ca.is_none() && self.server.starts_with("https://") =>
            {
                Err(anyhow::anyhow!(
                    "{e} (the certificate of an https:// log must chain to the CA given with \
                     --ca FILE: no other is trusted)"
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads a private key file.
pub fn signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    Ok(key_file::read_signing_key(path)?)
}

/// The seconds since the epoch of an RFC 3339 time, or now.
pub fn time_or_now(time: Option<&str>) -> anyhow::Result<i64> {
    use certlog_verifier::certificate::json;
    match time {
        Some(t) => json::parse_time(t).map_err(anyhow::Error::msg),
        None => Ok(json::now()),
    }
}

/// Runs a command.
pub async fn run(cli: Cli) -> anyhow::Result<Output> {
    let log_vkey = cli
        .log_vkey
        .as_deref()
        .map(key_file::verifier_key_arg)
        .transpose()
        .context("--log-vkey")?;
    let tls = Tls::from_files(
        cli.ca.as_deref(),
        cli.client_cert.as_deref(),
        cli.client_key.as_deref(),
    )?;
    let cx = Context {
        server: cli.server,
        log_vkey,
        tls,
    };
    use certlog_verifier::proto::CertificateStatus::*;
    match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Certifier(command) => certifier::run(&cx, command).await,
        Command::Submit(args) => submit::run(&cx, args).await,
        Command::Revoke(args) => status_change::run(&cx, args, Revoked).await,
        Command::Suspend(args) => status_change::run(&cx, args, Suspended).await,
        Command::Reinstate(args) => status_change::run(&cx, args, Active).await,
        Command::Withdraw(args) => status_change::run(&cx, args, Withdrawn).await,
        Command::Status(args) => read::status(&cx, args).await,
        Command::Get(args) => read::get(&cx, args).await,
        Command::Prove(args) => read::prove(&cx, args).await,
        Command::Checkpoint(args) => read::checkpoint(&cx, args).await,
        Command::Load(args) => load::run(&cx, args).await,
        Command::Bundle(args) => bundle::run(&cx, args).await,
        Command::Witness(command) => witness::run(command).await,
        Command::Audit(_) => anyhow::bail!("certlog audit runs on its own (see main)"),
    }
}

/// The receipt of a submission, for people and for JSON.
pub fn receipt_output(what: &str, receipt: &crate::Receipt) -> Output {
    let mut text = format!(
        "{what} at index {}{}\nleaf hash {}\n",
        receipt.index,
        if receipt.duplicate {
            " (already logged)"
        } else {
            ""
        },
        receipt.leaf_hash
    );
    let mut json = serde_json::json!({
        "index": receipt.index,
        "leaf_hash": receipt.leaf_hash.to_base64(),
        "duplicate": receipt.duplicate,
    });
    if let Some((checkpoint, proof)) = &receipt.proof {
        let c = &checkpoint.checkpoint;
        text.push_str(&format!(
            "included in checkpoint of size {} with root {} (proof checked)\n",
            c.size, c.root
        ));
        json["checkpoint"] = checkpoint.to_text().into();
        json["tree_size"] = c.size.into();
        json["root"] = c.root.to_base64().into();
        json["inclusion_proof"] = proof.iter().map(|h| h.to_base64()).collect();
        let quorum = receipt.witness_quorum;
        if quorum > 0 {
            text.push_str(&if receipt.witnessed {
                format!("cosigned by the log's witness quorum ({quorum})\n")
            } else {
                format!(
                    "not cosigned by the log's witness quorum ({quorum}) in time; the entry is \
                     durable all the same\n"
                )
            });
        }
        json["witness_quorum"] = quorum.into();
        json["witnessed"] = receipt.witnessed.into();
    }
    Output { text, json }
}

//! `certlogd`'s command line (the binary is a call to [`main`]). A bare `certlogd` is
//! `certlogd serve` with the defaults; `certlogd restore` puts a log's database back from a
//! copy ([`crate::history::restore`]).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::ServeArgs;
use crate::storage::Backend;
use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "certlogd",
    version,
    args_override_self = true,
    about = "The certlog transparency log for product security certificates"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the log (the default).
    Serve(Box<ServeArgs>),
    /// Puts a log's database back from a copy of its data directory, with certlogd stopped:
    /// the copy must be of this log and hold every tree its key signed (DIR/log.signed). A
    /// database in DIR is moved aside, not deleted.
    Restore(RestoreArgs),
}

#[derive(clap::Args)]
struct RestoreArgs {
    /// The copy of the data directory.
    #[arg(long, value_name = "COPY_DIR")]
    from: PathBuf,
    /// The log's data directory, which holds its keys and DIR/log.signed.
    #[arg(long, default_value = "certlog-data")]
    data: PathBuf,
    /// The embedded database of the log and the copy.
    #[arg(long, value_enum, default_value = "fjall")]
    storage: Backend,
}

/// Runs `certlogd restore`.
fn restore(args: &RestoreArgs) -> ExitCode {
    match crate::history::restore(&args.from, &args.data, args.storage) {
        Ok(restored) => {
            if let Some(aside) = &restored.replaced {
                println!("moved the database it replaced to {}", aside.display());
            }
            println!(
                "restored {} from {}: a tree of size {} (the log key signed up to size {})",
                restored.database.display(),
                args.from.display(),
                restored.size,
                restored.signed
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("certlogd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed at once, before the log
/// announces itself, so that a signal sent right after the announcement is not missed.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Runs `certlogd` with the process's arguments.
pub fn main() -> ExitCode {
    let args = match crate::config::with_config_file(std::env::args_os().collect(), &["serve"]) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("certlogd: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let args = match cli.command {
        Some(Command::Serve(args)) => *args,
        Some(Command::Restore(args)) => {
            init_tracing(false);
            return restore(&args);
        }
        None => cli.serve,
    };
    init_tracing(args.log_json);
    // The bound address on stdout, for scripts and tests that listen on port 0. A server whose
    // announcement nobody reads (`certlogd | head -1` once head is done) goes on serving.
    let announce = |addr| {
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), "certlogd listening on {addr}") {
            tracing::warn!("could not announce the address on stdout: {e}");
        }
    };
    let served = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let shutdown = shutdown_signal().context("installing the signal handlers")?;
                crate::server::serve(args, announce, shutdown).await
            })
        });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("certlogd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

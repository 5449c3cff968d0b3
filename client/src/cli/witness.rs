//! `certlog witness`: runs a C2SP tlog-witness that cosigns the checkpoints of the given logs.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use certlog_log::key_file;
use certlog_verifier::VerifierKey;
use certlog_witness::WitnessConfig;

use super::Output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Runs the witness until Ctrl-C or SIGTERM: `POST /add-checkpoint` (C2SP tlog-witness).
    /// On first start it creates its key in DIR: witness.key (mode 0600) and witness.vkey.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The data directory: the witness key and the latest cosigned checkpoint of each log.
    #[arg(long, value_name = "DIR", default_value = "./certlog-witness-data")]
    data: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50052")]
    listen: SocketAddr,
    /// The witness's name, the name of its key (on first start; later it must match the key).
    #[arg(long, default_value = "certlog.local/witness")]
    name: String,
    /// A log to witness: its origin and its verifier key (the vkey, @FILE or a file holding
    /// it), whose name is the origin. Repeat for more logs.
    #[arg(long = "log", value_name = "ORIGIN=VKEY", required = true)]
    logs: Vec<String>,
    /// Logs as JSON lines on stderr.
    #[arg(long)]
    log_json: bool,
}

/// `ORIGIN=VKEY`: the origin ends at the first `=` (base64 keys may end in `=`).
fn log_arg(arg: &str) -> anyhow::Result<(String, VerifierKey)> {
    let (origin, vkey) = arg
        .split_once('=')
        .with_context(|| format!("--log {arg:?}: expected ORIGIN=VKEY"))?;
    // The key error already names the file or text at fault, and says why.
    let key =
        key_file::verifier_key_arg(vkey).map_err(|e| anyhow::anyhow!("--log {origin}: {e}"))?;
    anyhow::ensure!(
        key.name() == origin,
        "--log {origin}: the key {key} is named {:?}; a log's key is named by its origin",
        key.name()
    );
    Ok((origin.to_string(), key))
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

pub async fn run(command: Command) -> anyhow::Result<Output> {
    let Command::Serve(args) = command;
    let logs = args
        .logs
        .iter()
        .map(|arg| log_arg(arg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    init_tracing(args.log_json);
    let config = WitnessConfig {
        data: args.data,
        listen: args.listen,
        name: args.name,
        logs,
    };
    certlog_witness::serve(config, certlog_witness::shutdown_signal()).await?;
    Ok(Output {
        text: "certlog witness stopped\n".into(),
        json: serde_json::json!({ "stopped": true }),
    })
}

//! The settings of `certlogd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cosigner::{CosignerConfig, WitnessArg};
use crate::sequencer::BatchConfig;
use crate::storage::Backend;
use crate::tls::{self, ServerTls, TlsError};

/// How to run a log.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Reads settings from a TOML file whose keys are these flags' long names (`listen =
    /// "127.0.0.1:50051"`, `witness = ["URL=VKEY"]`); flags on the command line win, and lists
    /// add up.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory: the database and the keys (created on first start).
    #[arg(long, default_value = "certlog-data")]
    pub data: PathBuf,
    /// The address that serves gRPC and HTTP.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// The embedded database.
    #[arg(long, value_enum, default_value = "fjall")]
    pub storage: Backend,
    /// The operator's verifier key (the file `certlog keygen` made beside the private key),
    /// copied to DIR/operator.vkey when the log is created; without it, the first start makes
    /// the pair in DIR, and operator.key is to be moved elsewhere. A later start refuses
    /// another key.
    #[arg(long, value_name = "FILE")]
    pub operator_vkey: Option<PathBuf>,
    /// The log's origin, the name in its checkpoints (set when the log is created).
    #[arg(long, default_value = "certlog.local/log")]
    pub origin: String,
    /// The most entries integrated in one batch (one flush, one checkpoint). Under a steady
    /// load, batches form within --batch-interval and stay well below it; a log at full speed
    /// fills them, and spends less on each entry the more a batch holds.
    #[arg(long, default_value_t = 2048)]
    pub batch_max: usize,
    /// How long a batch waits for more entries after its first, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub batch_interval: u64,
    /// Submissions that may wait for the sequencer before new ones are refused.
    #[arg(long, default_value_t = 16_384)]
    pub queue: usize,
    /// The most submissions a second from each certifier (by signing key name), in bursts of
    /// as many; more are refused with RESOURCE_EXHAUSTED. 0: no limit.
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
    /// A witness that cosigns the log's checkpoints (C2SP tlog-witness), as URL=VKEY with the
    /// witness's verifier key or a file holding it; repeat for several.
    #[arg(long = "witness", value_name = "URL=VKEY")]
    pub witnesses: Vec<WitnessArg>,
    /// How many witnesses must cosign a checkpoint before it is published [default: all].
    #[arg(long)]
    pub witness_quorum: Option<usize>,
    /// How long one request to a witness may take, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub witness_timeout: u64,
    /// The server's certificate chain (PEM): serves gRPC and HTTP over TLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) for client certificates: clients may present one, and the Admin
    /// service (registering and retiring certifiers) answers only those that did.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Connections open at once; more wait to be accepted.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a connection may go without reading or writing a byte before it is closed
    /// (a client that sends its request slowly, or never finishes it, or an idle one).
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Logs as JSON lines.
    #[arg(long)]
    pub log_json: bool,
}

impl ServeArgs {
    /// The sequencer's batching.
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            max_entries: self.batch_max.max(1),
            interval: Duration::from_millis(self.batch_interval),
            queue: self.queue.max(1),
        }
    }

    /// The TLS configuration, when the log serves TLS.
    pub fn tls_config(&self) -> Result<Option<ServerTls>, TlsError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                tls::server_config(cert, key, self.client_ca.as_deref()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The witnesses; a quorum that can never be met is refused.
    pub fn cosigner_config(&self) -> Result<CosignerConfig, String> {
        let quorum = self.witness_quorum.unwrap_or(self.witnesses.len());
        if quorum > self.witnesses.len() {
            return Err(format!(
                "--witness-quorum {quorum} can never be met by {} witnesses",
                self.witnesses.len()
            ));
        }
        Ok(CosignerConfig {
            witnesses: self.witnesses.clone(),
            quorum,
            timeout: Duration::from_millis(self.witness_timeout.max(1)),
        })
    }
}

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// It cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not TOML.
    #[error("{path} is not valid TOML: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A value that no flag takes.
    #[error("{path}: {key} must be a string, number, boolean or list of them")]
    Value {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
}

/// The command line with the settings of `--config FILE` put in as flags, right after the
/// subcommand (or the program name), so that the command line's own flags come later and win
/// (the parser lets later flags override earlier ones).
pub fn with_config_file(
    args: Vec<std::ffi::OsString>,
    subcommands: &[&str],
) -> Result<Vec<std::ffi::OsString>, ConfigFileError> {
    let mut path = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            path = iter.next().map(PathBuf::from);
        } else if let Some(p) = arg.strip_prefix("--config=") {
            path = Some(PathBuf::from(p));
        }
    }
    let Some(path) = path else {
        return Ok(args);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigFileError::Parse {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    let mut flags = Vec::new();
    for (key, value) in &table {
        let flag = format!("--{}", key.replace('_', "-"));
        let bad = || ConfigFileError::Value {
            path: shown.clone(),
            key: key.clone(),
        };
        let values = match value {
            toml::Value::Array(items) => items.iter().collect(),
            value => vec![value],
        };
        for value in values {
            match value {
                toml::Value::Boolean(true) => flags.push(flag.clone()),
                toml::Value::Boolean(false) => {}
                toml::Value::String(s) => flags.push(format!("{flag}={s}")),
                toml::Value::Integer(i) => flags.push(format!("{flag}={i}")),
                toml::Value::Float(f) => flags.push(format!("{flag}={f}")),
                _ => return Err(bad()),
            }
        }
    }
    let at = match args.get(1).and_then(|a| a.to_str()) {
        Some(sub) if subcommands.contains(&sub) => 2,
        _ => 1,
    };
    let mut out = args;
    let tail = out.split_off(at.min(out.len()));
    out.extend(flags.into_iter().map(Into::into));
    out.extend(tail);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    #[command(args_override_self = true)]
    struct Test {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(file: &str, cli: &[&str]) -> Result<ServeArgs, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certlogd.toml");
        std::fs::write(&path, file).unwrap();
        let mut args: Vec<std::ffi::OsString> = vec!["certlogd".into()];
        args.extend(cli.iter().map(Into::into));
        args.push("--config".into());
        args.push(path.clone().into());
        let args = with_config_file(args, &["serve"]).map_err(|e| e.to_string())?;
        Test::try_parse_from(args)
            .map(|t| t.serve)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_config_file_sets_flags_and_the_command_line_wins() {
        let args = parse(
            "listen = \"127.0.0.1:7000\"\norigin = \"log.example/a\"\nbatch_max = 64\nlog-json = true\n",
            &["--origin", "log.example/b"],
        )
        .unwrap();
        assert_eq!(args.listen.port(), 7000);
        assert_eq!(args.origin, "log.example/b");
        assert_eq!(args.batch_max, 64);
        assert!(args.log_json);
    }

    #[test]
    fn bad_config_files_say_why() {
        let e = parse("listen = [", &[]).unwrap_err();
        assert!(e.contains("not valid TOML"), "{e}");
        let e = parse("no_such_setting = 1\n", &[]).unwrap_err();
        assert!(e.contains("--no-such-setting"), "{e}");
        let e = parse("listen = { a = 1 }\n", &[]).unwrap_err();
        assert!(e.contains("listen must be"), "{e}");
        let e = parse("batch_max = \"many\"\n", &[]).unwrap_err();
        assert!(e.contains("many"), "{e}");
    }
}

//! The harness of certlog's end-to-end tests: it starts the real `certlogd` on a free port with
//! a data directory of its own, and drives the real `certlog` and `certlog-verify` binaries and
//! the gRPC and HTTP interfaces against it.
//!
//! Nothing here waits for time to pass: a start waits for the `certlogd listening on ADDR` line,
//! a submission for its acknowledgement (`--wait`), a stop polls for the process's exit. Every
//! wait has a generous bound ([`PROCESS_TIMEOUT`]) so that a broken server fails a test instead
//! of hanging it.
//!
//! # The binaries
//!
//! The binaries are targets of this package, built from the sources of certlogd, certlog and
//! certlog-verify (see `Cargo.toml`), so `cargo test -p certlog-tests` and `cargo test
//! --workspace` build them from the current sources before any test runs. They sit next to the
//! test executables' directory: `target/<profile>/deps/<test>` runs them from
//! `target/<profile>/e2e-certlogd`, `e2e-certlog` and `e2e-certlog-verify`. To test other builds
//! (a release build, installed binaries), set `CERTLOG_BIN_DIR` to a directory that holds
//! `certlogd`, `certlog` and `certlog-verify`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use certlog_client::{Client, ClientError};
use certlog_log::key_file;
use certlog_verifier::entry;
use certlog_verifier::proto::{Certificate, Product, statement};
use certlog_verifier::{SignedCheckpoint, SigningKey, VerifierKey};

pub mod witness;

/// How long certlogd may take to start or to stop. Generous: a debug build on a busy two-core
/// machine, with other tests starting their own logs at the same time.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The origin certlogd uses when none is given.
pub const DEFAULT_ORIGIN: &str = "certlog.local/log";

/// One of the binaries under test.
#[derive(Clone, Copy, Debug)]
pub enum Bin {
    /// The log server.
    Certlogd,
    /// The client CLI.
    Certlog,
    /// The offline verifier.
    CertlogVerify,
}

impl Bin {
    fn name(self) -> &'static str {
        match self {
            Bin::Certlogd => "certlogd",
            Bin::Certlog => "certlog",
            Bin::CertlogVerify => "certlog-verify",
        }
    }

    /// The path of the binary (see the crate documentation).
    pub fn path(self) -> PathBuf {
        let file = |name: &str| format!("{name}{}", std::env::consts::EXE_SUFFIX);
        let path = match std::env::var_os("CERTLOG_BIN_DIR") {
            Some(dir) => PathBuf::from(dir).join(file(self.name())),
            None => {
                let exe = std::env::current_exe().expect("the test executable's path");
                // target/<profile>/deps/<test> -> target/<profile>
                let profile_dir = exe
                    .parent()
                    .and_then(Path::parent)
                    .expect("the test executable is in target/<profile>/deps");
                profile_dir.join(file(&format!("e2e-{}", self.name())))
            }
        };
        assert!(
            path.is_file(),
            "{} is missing: run the end-to-end tests with `cargo test -p certlog-tests` (or \
             `cargo test --workspace`), which builds it first, or set CERTLOG_BIN_DIR to a \
             directory holding certlogd, certlog and certlog-verify",
            path.display()
        );
        path
    }

    /// A command running the binary, with no environment that would change its defaults.
    pub fn command(self) -> Command {
        let mut command = Command::new(self.path());
        isolate(&mut command);
        command
    }

    /// A command running the binary through `sh`, with the size of the files it writes limited
    /// to `bytes` (RLIMIT_FSIZE, `ulimit -f`): a write beyond fails with EFBIG ("File too
    /// large"), as on a full disk, and SIGXFSZ, which would kill the process instead, is
    /// ignored. Unix only. (`ulimit -f` counts 512-byte blocks in POSIX shells, 1024-byte
    /// blocks in bash outside POSIX mode: the limit is `bytes`, or twice that.)
    pub fn command_with_file_size_limit(self, bytes: u64) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f \"$1\" || exit 125; shift; exec \"$@\"")
            .arg("sh")
            .arg(bytes.div_ceil(512).to_string())
            .arg(self.path());
        isolate(&mut command);
        command
    }
}

/// Removes the environment that would change the binaries' defaults.
fn isolate(command: &mut Command) {
    command
        .env_remove("CERTLOG_SERVER")
        .env_remove("CERTLOG_LOG_VKEY")
        .env_remove("CERTLOG_CA")
        .env_remove("CERTLOG_CLIENT_CERT")
        .env_remove("CERTLOG_CLIENT_KEY")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
}

/// Runs `certlog-verify` with `args`.
pub fn verify(args: &[&str]) -> Output {
    Bin::CertlogVerify.command().args(args).output().unwrap()
}

/// Runs `certlogd` with `args` (a subcommand other than `serve`: `certlogd restore ...`).
pub fn certlogd(args: &[&str]) -> Output {
    Bin::Certlogd.command().args(args).output().unwrap()
}

/// Runs `certlog` with `args` only (no `--server`).
pub fn certlog(args: &[&str]) -> Output {
    Bin::Certlog.command().args(args).output().unwrap()
}

/// Runs `command` with stdout a pipe whose reader is already closed (as `| head -1` leaves it
/// once head is done), so that every write to stdout fails with a broken pipe; stderr is
/// captured.
pub fn output_with_closed_stdout(command: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    command
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// The exit code, stdout and stderr of a finished command, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts that a command succeeded; returns its stdout.
pub fn success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        describe(output)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Asserts that a command exited with `code`.
pub fn exit_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "unexpected exit status: {}",
        describe(output)
    );
}

/// A sample certificate of examples/.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// A sample certificate of examples/, parsed.
pub fn read_example(name: &str) -> Certificate {
    let text = std::fs::read_to_string(example(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A minimal certificate the log accepts.
pub fn certificate(scheme: &str, certificate_id: &str) -> Certificate {
    Certificate {
        scheme: scheme.into(),
        certificate_id: certificate_id.into(),
        product: Some(Product {
            vendor: "Example Vendor".into(),
            name: "Example Product".into(),
            ..Product::default()
        }),
        issued_at: 1_790_000_000,
        not_after: 1_890_000_000,
        ..Certificate::default()
    }
}

/// The entry bytes of a statement signed by `key`, without any check of the client library.
pub fn signed_entry(key: &SigningKey, body: statement::Body) -> Vec<u8> {
    entry::encode_entry(entry::sign_statement(key, body).unwrap())
}

/// The entry bytes of a certificate issued by `key`, without any check of the client library.
pub fn issue_entry(key: &SigningKey, certificate: Certificate) -> Vec<u8> {
    signed_entry(key, statement::Body::CertificateIssued(certificate))
}

/// The gRPC status of a refused call; panics when the call succeeded or failed otherwise.
pub fn refusal<T: std::fmt::Debug>(result: Result<T, ClientError>) -> tonic::Status {
    match result {
        Err(ClientError::Rpc(status)) => status,
        other => panic!("expected the log to refuse, got {other:?}"),
    }
}

/// Asserts that a call was refused with `code` and a message holding `needle`.
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
    code: tonic::Code,
    needle: &str,
) -> tonic::Status {
    let status = refusal(result);
    assert_eq!(
        status.code(),
        code,
        "wrong code for refusal {:?}",
        status.message()
    );
    assert!(
        status.message().contains(needle),
        "the refusal {:?} does not mention {needle:?}",
        status.message()
    );
    status
}

/// A certifier's key, made with `certlog keygen`.
#[derive(Clone, Debug)]
pub struct Certifier {
    /// The key name, which names the certifier.
    pub name: String,
    /// The private key file.
    pub key_file: PathBuf,
    /// The verifier key, as `certlog keygen` printed it.
    pub vkey: String,
}

impl Certifier {
    /// The private key file, as a command-line argument.
    pub fn key_arg(&self) -> &str {
        self.key_file.to_str().unwrap()
    }

    /// The private key.
    pub fn signing_key(&self) -> SigningKey {
        key_file::read_signing_key(&self.key_file).unwrap()
    }

    /// The verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        self.vkey.parse().unwrap()
    }
}

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why certlogd did not start.
#[derive(Debug)]
pub struct StartFailure {
    /// How it exited, if it did.
    pub status: Option<ExitStatus>,
    /// What it wrote on stderr.
    pub stderr: String,
}

/// A running certlogd with a data directory of its own, killed when dropped.
pub struct Log {
    /// Holds `data/` (the log's), `work/` (keys, files of the test) and the server's stderr.
    root: tempfile::TempDir,
    /// The arguments of `certlogd serve` besides `--data` and `--listen`.
    args: Vec<String>,
    child: Option<Child>,
    addr: SocketAddr,
    /// Whether certlogd serves TLS (was given `--tls-cert`).
    https: bool,
    /// Global flags [`Log::cli`] gives `certlog` besides `--server` and `--log-vkey`.
    cli_args: Vec<String>,
    /// Starts so far, to name each start's stderr file.
    starts: usize,
    /// The limit on the size of the files certlogd writes, if any (see
    /// [`Bin::command_with_file_size_limit`]).
    file_size_limit: Option<u64>,
}

impl Log {
    /// Starts a new log with the default settings.
    pub fn start() -> Log {
        Log::start_with(&[])
    }

    /// Starts a new log whose certlogd may write files of at most `bytes` (see
    /// [`Bin::command_with_file_size_limit`]): its writes fail once the database would grow
    /// beyond, as on a full disk. Restarts keep the limit until [`Log::remove_file_size_limit`].
    pub fn start_with_file_size_limit(args: &[&str], bytes: u64) -> Log {
        Log::new(args, Some(bytes))
    }

    /// Lifts the limit of [`Log::start_with_file_size_limit`] for the next starts.
    pub fn remove_file_size_limit(&mut self) {
        self.file_size_limit = None;
    }

    /// Starts a new log with more `certlogd serve` arguments (`--origin`, `--batch-max`, ...),
    /// kept for restarts.
    pub fn start_with(args: &[&str]) -> Log {
        Log::new(args, None)
    }

    fn new(args: &[&str], file_size_limit: Option<u64>) -> Log {
        let root = tempfile::Builder::new()
            .prefix("certlog-e2e-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(root.path().join("work")).unwrap();
        let mut log = Log {
            root,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            https: false,
            cli_args: Vec::new(),
            starts: 0,
            file_size_limit,
        };
        if let Err(e) = log.spawn(&log.args.clone()) {
            panic!("certlogd did not start: {e:?}");
        }
        log
    }

    /// Starts certlogd with `args`; returns once it listens, or why it did not start.
    fn spawn(&mut self, args: &[String]) -> Result<(), StartFailure> {
        assert!(self.child.is_none(), "certlogd is already running");
        self.starts += 1;
        let command = match self.file_size_limit {
            Some(bytes) => Bin::Certlogd.command_with_file_size_limit(bytes),
            None => Bin::Certlogd.command(),
        };
        let (child, addr) = launch(
            command,
            &self.data_dir(),
            &self.work_dir(),
            args,
            &self.stderr_path(),
        )?;
        self.addr = addr;
        self.https = args
            .iter()
            .any(|a| a == "--tls-cert" || a.starts_with("--tls-cert="));
        self.child = Some(child);
        Ok(())
    }

    fn stderr_path(&self) -> PathBuf {
        self.root
            .path()
            .join(format!("certlogd-{}.stderr", self.starts))
    }

    /// What certlogd wrote on stderr since its last start.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// Starts certlogd again on the same data directory with the same arguments, stopping it
    /// gracefully first if it runs.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.stop_gracefully();
            assert!(status.success(), "certlogd exited with {status}");
        }
        let args = self.args.clone();
        if let Err(e) = self.spawn(&args) {
            panic!("certlogd did not start again: {e:?}");
        }
    }

    /// Starts certlogd again on the same data directory with other arguments, kept for later
    /// restarts and forks, stopping it gracefully first if it runs.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.restart();
    }

    /// Starts certlogd again on the same data directory with other arguments; certlogd must
    /// not run.
    pub fn try_restart_with(&mut self, args: &[&str]) -> Result<(), StartFailure> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.spawn(&args)
    }

    /// Starts a second certlogd on this log's data directory, with `args`, while the first may
    /// run. If it starts, it is killed at once and its address returned.
    pub fn try_start_second(&self, args: &[&str]) -> Result<SocketAddr, StartFailure> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let stderr = self.root.path().join("second-certlogd.stderr");
        let (mut child, addr) = launch(
            Bin::Certlogd.command(),
            &self.data_dir(),
            &self.work_dir(),
            &args,
            &stderr,
        )?;
        let _ = child.kill();
        let _ = child.wait();
        Ok(addr)
    }

    /// Forks the log: stops it, copies its data directory (keys, entries, everything) into a
    /// new log's, and starts both again. The two then share a key and a history, and go on
    /// apart.
    pub fn fork(&mut self) -> Log {
        let status = self.stop_gracefully();
        assert!(status.success(), "certlogd exited with {status}");
        let root = tempfile::Builder::new()
            .prefix("certlog-e2e-fork-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(root.path().join("work")).unwrap();
        copy_dir(&self.data_dir(), &root.path().join("data"));
        let mut other = Log {
            root,
            args: self.args.clone(),
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            starts: 0,
            https: self.https,
            cli_args: self.cli_args.clone(),
            file_size_limit: None,
        };
        if let Err(e) = other.spawn(&other.args.clone()) {
            panic!("the forked certlogd did not start: {e:?}");
        }
        self.restart();
        other
    }

    /// Sends SIGTERM and waits for certlogd to exit.
    pub fn stop_gracefully(&mut self) -> ExitStatus {
        let child = self.child.take().expect("certlogd is not running");
        terminate(child, "certlogd", || self.stderr())
    }

    /// Kills certlogd with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("certlogd is not running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The address certlogd listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gRPC URL (`https://` when certlogd serves TLS).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Sets global flags that [`Log::cli`] (and so every helper that runs `certlog`) passes
    /// besides `--server` and `--log-vkey`: `--ca`, `--client-cert`, ... for a TLS log.
    pub fn set_cli_args(&mut self, args: &[&str]) {
        self.cli_args = args.iter().map(|a| a.to_string()).collect();
    }

    /// The log's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A directory for the test's own files.
    pub fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// A path in the work directory, as a string.
    pub fn work_path(&self, name: &str) -> String {
        self.work_dir().join(name).to_str().unwrap().to_string()
    }

    /// DIR/log.vkey, as a string.
    pub fn log_vkey_file(&self) -> String {
        self.data_dir()
            .join("log.vkey")
            .to_str()
            .unwrap()
            .to_string()
    }

    /// DIR/operator.key, as a string.
    pub fn operator_key_file(&self) -> String {
        self.data_dir()
            .join("operator.key")
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The log's verifier key.
    pub fn log_vkey(&self) -> VerifierKey {
        key_file::read_verifier_key(Path::new(&self.log_vkey_file())).unwrap()
    }

    /// The operator's private key.
    pub fn operator_key(&self) -> SigningKey {
        key_file::read_signing_key(Path::new(&self.operator_key_file())).unwrap()
    }

    /// Runs `certlog --server URL --log-vkey DIR/log.vkey` with `args`: every checkpoint and
    /// proof the log sends is checked by the CLI.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_command(args).output().unwrap()
    }

    /// The command [`Log::cli`] runs.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = Bin::Certlog.command();
        command
            .args(["--server", &self.url(), "--log-vkey", &self.log_vkey_file()])
            .args(&self.cli_args)
            .args(args)
            .current_dir(self.work_dir());
        command
    }

    /// Runs `certlog --json` with `args`, asserts success and parses the JSON document.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.cli(&all);
        let stdout = success(&output);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("certlog printed no JSON document ({e}): {stdout}"))
    }

    /// Makes a certifier key with `certlog keygen`, in the work directory.
    pub fn keygen(&self, name: &str) -> Certifier {
        let file: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let key_file = self.work_dir().join(format!("{file}.key"));
        let output = self.cli(&[
            "keygen",
            "--name",
            name,
            "--out",
            key_file.to_str().unwrap(),
        ]);
        let vkey = success(&output).trim().to_string();
        Certifier {
            name: name.into(),
            key_file,
            vkey,
        }
    }

    /// Registers `certifier` for `schemes` with `certlog certifier register --wait`; returns
    /// the registration's index.
    pub fn register(&self, certifier: &Certifier, schemes: &[&str]) -> u64 {
        self.register_with(&self.operator_key_file(), certifier, schemes)
    }

    /// Registers `certifier` for `schemes` as [`Log::register`] does, signed with the operator
    /// key in the file `operator_key`.
    pub fn register_with(
        &self,
        operator_key: &str,
        certifier: &Certifier,
        schemes: &[&str],
    ) -> u64 {
        let mut args = vec![
            "certifier",
            "register",
            "--operator-key",
            operator_key,
            "--name",
            &certifier.name,
            "--vkey",
            &certifier.vkey,
            "--wait",
        ];
        for scheme in schemes {
            args.extend(["--scheme", scheme]);
        }
        let receipt = self.cli_json(&args);
        assert_eq!(receipt["duplicate"], false, "{receipt}");
        receipt["index"].as_u64().unwrap()
    }

    /// A fresh certifier key, registered for `schemes`.
    pub fn certifier(&self, name: &str, schemes: &[&str]) -> Certifier {
        let certifier = self.keygen(name);
        self.register(&certifier, schemes);
        certifier
    }

    /// Writes a certificate as JSON into the work directory, named after its scheme and ID;
    /// returns the file.
    pub fn write_certificate(&self, certificate: &Certificate) -> String {
        let name: String = format!("{}-{}", certificate.scheme, certificate.certificate_id)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let file = self.work_path(&format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string(certificate).unwrap()).unwrap();
        file
    }

    /// `certlog-verify bundle FILE --log-vkey DIR/log.vkey --scheme S --id ID EXTRA...`: the
    /// bundle checked as the question about that certificate.
    pub fn verify_bundle(&self, file: &str, (scheme, id): (&str, &str), extra: &[&str]) -> Output {
        let vkey = self.log_vkey_file();
        let mut args = vec![
            "bundle",
            file,
            "--log-vkey",
            &vkey,
            "--scheme",
            scheme,
            "--id",
            id,
        ];
        args.extend_from_slice(extra);
        verify(&args)
    }

    /// Submits a certificate file with `certlog submit --wait --json`; returns the receipt.
    pub fn submit(&self, file: &Path, certifier: &Certifier) -> serde_json::Value {
        self.cli_json(&[
            "submit",
            file.to_str().unwrap(),
            "--key",
            certifier.key_arg(),
            "--wait",
        ])
    }

    /// `GET path` over HTTP/1.1, on a connection of its own.
    pub fn http_get(&self, path: &str) -> HttpResponse {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(PROCESS_TIMEOUT)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        parse_http_response(&raw)
    }

    /// The latest checkpoint, from `GET /checkpoint`, verified with the log's key.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        let response = self.http_get("/checkpoint");
        assert_eq!(response.status, 200, "{}", response.text());
        SignedCheckpoint::verify(&response.body, &self.log_vkey()).unwrap()
    }

    /// The latest tree size.
    pub fn tree_size(&self) -> u64 {
        self.checkpoint().checkpoint.size
    }

    /// A gRPC client of the log that checks every answer with the log's key.
    pub async fn client(&self) -> Client {
        Client::connect(&self.url(), Some(self.log_vkey()))
            .await
            .unwrap()
    }

    /// The gRPC health status of `service` ("" for the server as a whole).
    pub async fn health(&self, service: &str) -> i32 {
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_client::HealthClient;
        let channel = tonic::transport::Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `certlogd serve --data DATA --listen 127.0.0.1:0 ARGS` with `command` (certlogd,
/// perhaps through a wrapper) in `cwd`, its stderr to `stderr_path`; returns once it printed the
/// address it listens on, or why it did not start.
fn launch(
    mut command: Command,
    data: &Path,
    cwd: &Path,
    args: &[String],
    stderr_path: &Path,
) -> Result<(Child, SocketAddr), StartFailure> {
    let stderr = std::fs::File::create(stderr_path).unwrap();
    let mut child = command
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok));
        // Keep reading, so that certlogd never writes to a closed pipe.
        for _ in lines {}
    });
    let failure = |child: &mut Child, status| {
        let _ = child.kill();
        let _ = child.wait();
        StartFailure {
            status,
            stderr: std::fs::read_to_string(stderr_path).unwrap_or_default(),
        }
    };
    match rx.recv_timeout(PROCESS_TIMEOUT) {
        Ok(Some(line)) => match line
            .strip_prefix("certlogd listening on ")
            .and_then(|a| a.trim().parse().ok())
        {
            Some(addr) => Ok((child, addr)),
            None => Err(failure(&mut child, None)),
        },
        // stdout closed before the line: certlogd exited.
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().unwrap();
            Err(failure(&mut child, Some(status)))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(failure(&mut child, None)),
    }
}

/// Sends SIGTERM to `child` and waits (at most [`PROCESS_TIMEOUT`]) for it to exit; past
/// that, kills it and panics with what it wrote on stderr.
fn terminate(mut child: Child, what: &str, stderr: impl Fn() -> String) -> ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM failed");
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} did not stop within {PROCESS_TIMEOUT:?} of SIGTERM:\n{}",
                stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Copies a directory and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Parses a raw HTTP/1.1 response, de-chunking the body.
pub fn parse_http_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    response.body = if response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().unwrap();
        assert!(rest.len() >= len, "the body is cut short");
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    response
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&rest[..end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

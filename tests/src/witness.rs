//! A running witness, the real `certlog witness serve`, started as [`crate::Log`] starts
//! certlogd: on `127.0.0.1:0` with a data directory of its own, returning once it printed
//! `certlog witness listening on ADDR`; killed when dropped.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;

use certlog_log::key_file;
use certlog_verifier::VerifierKey;

use crate::{Bin, HttpResponse, PROCESS_TIMEOUT, StartFailure, parse_http_response};

/// A running `certlog witness serve`.
pub struct Witness {
    /// Holds `data/` (the witness's) and its stderr files.
    root: tempfile::TempDir,
    /// The `--log ORIGIN=VKEY` arguments, kept for restarts.
    args: Vec<String>,
    child: Option<Child>,
    addr: SocketAddr,
    starts: usize,
}

impl Witness {
    /// Starts a witness of `logs`, each an origin and its verifier key (the vkey, or a file
    /// holding it), with the default name.
    pub fn start(logs: &[(&str, &str)]) -> Witness {
        let root = tempfile::Builder::new()
            .prefix("certlog-e2e-witness-")
            .tempdir()
            .unwrap();
        let mut args = Vec::new();
        for (origin, vkey) in logs {
            args.push("--log".to_string());
            args.push(format!("{origin}={vkey}"));
        }
        let mut witness = Witness {
            root,
            args,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            starts: 0,
        };
        if let Err(e) = witness.spawn() {
            panic!("the witness did not start: {e:?}");
        }
        witness
    }

    fn spawn(&mut self) -> Result<(), StartFailure> {
        assert!(self.child.is_none(), "the witness is already running");
        self.starts += 1;
        let stderr_path = self.stderr_path();
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Bin::Certlog
            .command()
            .args(["witness", "serve", "--data"])
            .arg(self.data_dir())
            .args(["--listen", "127.0.0.1:0"])
            .args(&self.args)
            .current_dir(self.root.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            // Keep reading, so that the witness never writes to a closed pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(PROCESS_TIMEOUT).ok().flatten();
        let addr = line.as_deref().and_then(|line| {
            line.strip_prefix("certlog witness listening on ")?
                .trim()
                .parse()
                .ok()
        });
        match addr {
            Some(addr) => {
                self.addr = addr;
                self.child = Some(child);
                Ok(())
            }
            None => {
                let _ = child.kill();
                let status = child.wait().ok();
                Err(StartFailure {
                    status,
                    stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                })
            }
        }
    }

    fn stderr_path(&self) -> PathBuf {
        self.root
            .path()
            .join(format!("witness-{}.stderr", self.starts))
    }

    /// What the witness wrote on stderr since its last start.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// Starts the witness again on the same data directory, stopping it gracefully first if it
    /// runs.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.stop_gracefully();
            assert!(status.success(), "the witness exited with {status}");
        }
        if let Err(e) = self.spawn() {
            panic!("the witness did not start again: {e:?}");
        }
    }

    /// Sends SIGTERM and waits for the witness to exit.
    pub fn stop_gracefully(&mut self) -> ExitStatus {
        let child = self.child.take().expect("the witness is not running");
        crate::terminate(child, "the witness", || self.stderr())
    }

    /// Kills the witness with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the witness is not running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The address the witness listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The witness's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The witness's verifier key, from DIR/witness.vkey.
    pub fn vkey(&self) -> VerifierKey {
        key_file::read_verifier_key(&self.data_dir().join("witness.vkey")).unwrap()
    }

    /// `METHOD path` with `body` over HTTP/1.1, on a connection of its own. A witness may answer
    /// before it read all of a body it refuses: what it answered is read all the same.
    pub fn http(&self, method: &str, path: &str, body: &[u8]) -> HttpResponse {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(PROCESS_TIMEOUT)).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body));
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw);
        assert!(
            !raw.is_empty(),
            "no answer to {method} {path}: {read:?}\n{}",
            self.stderr()
        );
        parse_http_response(&raw)
    }

    /// `POST /add-checkpoint` with `body`.
    pub fn add_checkpoint(&self, body: &[u8]) -> HttpResponse {
        self.http("POST", "/add-checkpoint", body)
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! certlogd over TLS (`--tls-cert`, `--tls-key`) with client certificates for the Admin service
//! (`--client-ca`), driven by the real `certlog` CLI and the client library: the CA, the
//! server's certificate (for 127.0.0.1 and localhost) and the client certificates are made
//! here with rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use certlog_client::{Client, ClientError, Tls};
use certlog_log::key_file;
use certlog_tests::{HttpResponse, Log, PROCESS_TIMEOUT, describe, example, parse_http_response};
use certlog_verifier::{KeyType, SignedCheckpoint};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A CA and a certificate it issued, as PEM files.
struct Leaf {
    cert: PathBuf,
    key: PathBuf,
}

impl Leaf {
    fn cert(&self) -> &str {
        self.cert.to_str().unwrap()
    }

    fn key(&self) -> &str {
        self.key.to_str().unwrap()
    }
}

/// The test's PKI: a CA with a server certificate and a client certificate, and another CA
/// with a client certificate of its own.
struct Pki {
    dir: tempfile::TempDir,
    server: Leaf,
    client: Leaf,
    other_client: Leaf,
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("certlog-tls-")
            .tempdir()
            .unwrap();
        let ca = new_ca("certlog test CA");
        let other_ca = new_ca("another CA");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), other_ca.pem()).unwrap();
        let server = Pki::leaf(
            dir.path(),
            "server",
            &ca,
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = Pki::leaf(
            dir.path(),
            "client",
            &ca,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let other_client = Pki::leaf(
            dir.path(),
            "other-client",
            &other_ca,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            dir,
            server,
            client,
            other_client,
        }
    }

    fn leaf(
        dir: &Path,
        name: &str,
        issuer: &CertifiedIssuer<'static, KeyPair>,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        let leaf = Leaf {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// The CA's certificate file.
    fn ca(&self) -> String {
        self.path("ca.pem")
    }

    /// Starts a log over TLS, with the CA for client certificates when `client_ca`.
    fn start_log(&self, client_ca: bool) -> Log {
        let ca = self.ca();
        let mut args = vec![
            "--tls-cert",
            self.server.cert(),
            "--tls-key",
            self.server.key(),
        ];
        if client_ca {
            args.extend(["--client-ca", &ca]);
        }
        Log::start_with(&args)
    }

    /// The client library's TLS settings: the CA, and `identity`'s certificate if any.
    fn tls(&self, identity: Option<&Leaf>) -> Tls {
        Tls::from_files(
            Some(Path::new(&self.ca())),
            identity.map(|l| l.cert.as_path()),
            identity.map(|l| l.key.as_path()),
        )
        .unwrap()
    }

    /// The CA as rustls roots.
    fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(self.ca()).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        roots
    }
}

/// `GET path` over HTTPS (HTTP/1.1, ALPN `http/1.1`) to `localhost`, trusting the test CA;
/// returns the response and the protocol the server chose.
async fn https_get(log: &Log, pki: &Pki, path: &str) -> (HttpResponse, Option<Vec<u8>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(pki.roots())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(log.addr()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        log.addr().port()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PROCESS_TIMEOUT, tls.read_to_end(&mut raw))
        .await
        .expect("the response in time")
        .unwrap();
    (parse_http_response(&raw), alpn)
}

/// The latest checkpoint over gRPC with `tls`, verified with the log's key.
async fn checkpoint_over_tls(log: &Log, tls: &Tls) -> SignedCheckpoint {
    let mut client = Client::connect_with(&log.url(), Some(log.log_vkey()), tls)
        .await
        .unwrap();
    client.checkpoint(0).await.unwrap()
}

/// A registration of a fresh certifier key, signed by the operator.
fn registration(log: &Log, name: &str) -> Vec<u8> {
    let key = key_file::generate(name, KeyType::Ed25519).unwrap();
    certlog_client::register_certifier(
        &log.operator_key(),
        &key.verifier_key(),
        vec!["EUCC".into()],
        1_790_000_000,
    )
    .unwrap()
}

#[tokio::test]
async fn over_tls_the_cli_registers_submits_and_proves_and_https_serves_the_checkpoint() {
    let pki = Pki::new();
    let mut log = pki.start_log(true);
    assert!(log.url().starts_with("https://127.0.0.1:"));
    let ca = pki.ca();
    log.set_cli_args(&[
        "--ca",
        &ca,
        "--client-cert",
        pki.client.cert(),
        "--client-key",
        pki.client.key(),
    ]);

    // certifier register (Admin, with the client certificate), submit --wait, prove, checkpoint.
    let cb = log.certifier("cb.example", &["EUCC"]);
    let receipt = log.submit(&example("eucc-camera.json"), &cb);
    let index = receipt["index"].as_u64().unwrap();
    let proof = log.cli_json(&["prove", "--index", &index.to_string()]);
    assert_eq!(proof["index"], index, "{proof}");
    let output = log.cli(&["checkpoint"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("certlog.local/log\n"), "{text}");

    // GET /checkpoint over HTTPS, HTTP/1.1 chosen by ALPN, for the name localhost.
    let (response, alpn) = https_get(&log, &pki, "/checkpoint").await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(response.status, 200, "{}", response.text());
    let checkpoint = SignedCheckpoint::verify(&response.body, &log.log_vkey()).unwrap();
    assert!(checkpoint.checkpoint.size > index);
    let (response, _) = https_get(&log, &pki, "/metrics").await;
    assert_eq!(response.status, 200);
    // An auditor reads the tiles over HTTPS, trusting the CA given with --ca.
    let state = log.work_path("audit.state");
    let operator = log.data_dir().join("operator.vkey");
    let audit = [
        "audit",
        "--state",
        &state,
        "--operator-vkey",
        operator.to_str().unwrap(),
    ];
    let text = String::from_utf8(log.cli(&audit).stdout).unwrap();
    assert!(text.starts_with("consistent: "), "{text}");

    // The same over gRPC with the library (ALPN h2), then a graceful stop and a restart over
    // TLS with the same data.
    let over_grpc = checkpoint_over_tls(&log, &pki.tls(None)).await;
    assert_eq!(over_grpc.checkpoint.size, checkpoint.checkpoint.size);
    let status = log.stop_gracefully();
    assert!(status.success(), "certlogd exited with {status}");
    log.restart();
    let again = checkpoint_over_tls(&log, &pki.tls(None)).await;
    assert_eq!(again.checkpoint, over_grpc.checkpoint);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let pki = Pki::new();
    let log = pki.start_log(false);

    // No --ca: no root is trusted, so the log's certificate does not verify.
    let output = certlog_tests::certlog(&["--server", &log.url(), "checkpoint"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert!(stderr.contains("--ca"), "{stderr}");

    // Another CA: refused the same way.
    let other_ca = pki.path("other-ca.pem");
    let output = certlog_tests::certlog(&["--server", &log.url(), "--ca", &other_ca, "checkpoint"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");

    // The library too.
    match Client::connect(&log.url(), None).await {
        Err(ClientError::Connect { reason, .. }) => {
            assert!(reason.contains("UnknownIssuer"), "{reason}")
        }
        Err(e) => panic!("expected a connection error, got {e}"),
        Ok(_) => panic!("connected without trusting the log's CA"),
    }

    // A file that is not a certificate is refused before any connection.
    let output = certlog_tests::certlog(&[
        "--server",
        &log.url(),
        "--ca",
        pki.client.key(),
        "checkpoint",
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no certificate"), "{stderr}");

    // With the CA, it works.
    let ca = pki.ca();
    let output = certlog_tests::certlog(&["--server", &log.url(), "--ca", &ca, "checkpoint"]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[tokio::test]
async fn admin_needs_a_client_certificate_of_the_client_ca_and_the_log_stays_open() {
    let pki = Pki::new();
    let mut log = pki.start_log(true);
    let size = checkpoint_over_tls(&log, &pki.tls(None))
        .await
        .checkpoint
        .size;

    // No client certificate: UNAUTHENTICATED, for both Admin calls.
    let mut anonymous = Client::connect_with(&log.url(), Some(log.log_vkey()), &pki.tls(None))
        .await
        .unwrap();
    certlog_tests::assert_refused(
        anonymous
            .register_certifier(registration(&log, "cb.example"), true)
            .await,
        tonic::Code::Unauthenticated,
        "client certificate",
    );
    let retirement = certlog_client::retire_certifier(
        &log.operator_key(),
        "cb.example",
        "gone",
        None,
        1_790_000_001,
    )
    .unwrap();
    certlog_tests::assert_refused(
        anonymous.retire_certifier(retirement, true).await,
        tonic::Code::Unauthenticated,
        "client certificate",
    );
    // ... while the CertificateLog service answers the same connection.
    anonymous.checkpoint(0).await.unwrap();
    certlog_tests::assert_refused(
        anonymous.status("EUCC", "EUCC-404").await,
        tonic::Code::NotFound,
        "not in the log",
    );
    // The CLI says so too.
    let ca = pki.ca();
    log.set_cli_args(&["--ca", &ca]);
    let certifier = log.keygen("cb.example");
    let operator_key = log.operator_key_file();
    let output = log.cli(&[
        "certifier",
        "register",
        "--operator-key",
        &operator_key,
        "--name",
        "cb.example",
        "--vkey",
        &certifier.vkey,
        "--scheme",
        "EUCC",
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Unauthenticated"), "{stderr}");
    assert!(stderr.contains("client certificate"), "{stderr}");

    // A certificate of another CA: UNAUTHENTICATED, saying why; the log still answers reads.
    let mut other = Client::connect_with(
        &log.url(),
        Some(log.log_vkey()),
        &pki.tls(Some(&pki.other_client)),
    )
    .await
    .unwrap();
    certlog_tests::assert_refused(
        other
            .register_certifier(registration(&log, "cb.example"), true)
            .await,
        tonic::Code::Unauthenticated,
        "UnknownIssuer",
    );
    other.checkpoint(0).await.unwrap();

    // Nothing was logged by any of these.
    let good = pki.tls(None);
    assert_eq!(checkpoint_over_tls(&log, &good).await.checkpoint.size, size);

    // The CA's client certificate: accepted.
    let mut operator = Client::connect_with(
        &log.url(),
        Some(log.log_vkey()),
        &pki.tls(Some(&pki.client)),
    )
    .await
    .unwrap();
    let receipt = operator
        .register_certifier(registration(&log, "cb.example"), true)
        .await
        .unwrap();
    assert_eq!(receipt.index, size);
    // The operator's signature is still required on top.
    let forged = certlog_client::register_certifier(
        &key_file::generate("not-the-operator", KeyType::Ed25519).unwrap(),
        &certifier.verifier_key(),
        vec!["EUCC".into()],
        1_790_000_000,
    )
    .unwrap();
    let status = certlog_tests::refusal(operator.register_certifier(forged, true).await);
    assert_ne!(status.code(), tonic::Code::Ok);
    assert_ne!(status.code(), tonic::Code::Unauthenticated);
}

#[tokio::test]
async fn plain_tcp_to_a_tls_listener_fails_cleanly_and_the_log_stays_healthy() {
    let pki = Pki::new();
    let mut log = pki.start_log(true);
    let tls = pki.tls(None);

    // A client that connects and says nothing does not hold up the others.
    let silent = TcpStream::connect(log.addr()).unwrap();

    // Plain HTTP: the connection is closed (after a TLS alert at most), never answered.
    let mut plain = TcpStream::connect(log.addr()).unwrap();
    plain.set_read_timeout(Some(PROCESS_TIMEOUT)).unwrap();
    let request = format!(
        "GET /checkpoint HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        log.addr()
    );
    // The log may close the connection before the request is all written.
    let _ = plain.write_all(request.as_bytes());
    let mut raw = Vec::new();
    match plain.read_to_end(&mut raw) {
        Ok(_) => assert!(!raw.starts_with(b"HTTP/"), "answered in plain HTTP"),
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the plain connection was left hanging: {e}"
        ),
    }

    // Plain gRPC: fails.
    let plain_url = format!("http://{}", log.addr());
    let plain_call = match Client::connect(&plain_url, None).await {
        Ok(mut client) => client.checkpoint(0).await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(plain_call.is_err(), "plain gRPC answered on a TLS listener");

    // The log still serves TLS clients, many in a row.
    for _ in 0..5 {
        checkpoint_over_tls(&log, &tls).await;
    }
    let (response, _) = https_get(&log, &pki, "/checkpoint").await;
    assert_eq!(response.status, 200);

    // And stops gracefully with the silent connection still open.
    let status = log.stop_gracefully();
    assert!(status.success(), "certlogd exited with {status}");
    drop(silent);
    assert!(
        !log.stderr().contains("panicked"),
        "certlogd panicked:\n{}",
        log.stderr()
    );
}

#[test]
fn bad_tls_files_stop_certlogd_with_a_message() {
    let pki = Pki::new();
    let mut log = Log::start();
    let status = log.stop_gracefully();
    assert!(status.success());
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").unwrap();
    let broken = pki.path("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let missing = pki.path("missing.key");
    let cases: [(&[&str], &str); 7] = [
        (
            &["--tls-cert", pki.server.cert(), "--tls-key", &garbage],
            "no private key",
        ),
        (
            &["--tls-cert", pki.server.cert(), "--tls-key", &broken],
            "bad PEM",
        ),
        (
            &["--tls-cert", pki.server.cert(), "--tls-key", &missing],
            "missing.key",
        ),
        (
            // The client's key with the server's certificate.
            &[
                "--tls-cert",
                pki.server.cert(),
                "--tls-key",
                pki.client.key(),
            ],
            "--tls-key",
        ),
        (
            &["--tls-cert", &garbage, "--tls-key", pki.server.key()],
            "no certificate",
        ),
        (
            &[
                "--tls-cert",
                pki.server.cert(),
                "--tls-key",
                pki.server.key(),
                "--client-ca",
                &garbage,
            ],
            "no certificate",
        ),
        (&["--tls-cert", pki.server.cert()], "--tls-key"),
    ];
    for (args, needle) in cases {
        let failure = match log.try_restart_with(args) {
            Ok(()) => panic!("certlogd started with {args:?}"),
            Err(failure) => failure,
        };
        let status = failure.status.expect("certlogd exited");
        assert!(!status.success(), "{args:?}: {status}");
        assert!(
            failure.stderr.contains(needle),
            "{args:?}: the message does not mention {needle:?}:\n{}",
            failure.stderr
        );
        assert!(
            !failure.stderr.contains("panicked"),
            "{args:?}:\n{}",
            failure.stderr
        );
    }
    // The key mismatch names the cause.
    let failure = log
        .try_restart_with(&[
            "--tls-cert",
            pki.server.cert(),
            "--tls-key",
            pki.client.key(),
        ])
        .err()
        .unwrap();
    assert!(
        failure
            .stderr
            .contains("is not the private key of the certificate"),
        "{}",
        failure.stderr
    );
    // And with good files it starts.
    log.try_restart_with(&[
        "--tls-cert",
        pki.server.cert(),
        "--tls-key",
        pki.server.key(),
    ])
    .unwrap();
}

//! TLS on the one listener (rustls, ring provider, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`),
//! and what a handler learns of its connection ([`Peer`]).
//!
//! With a client CA, the handshake asks for a client certificate but does not require one: the
//! log and its tiles stay open to all, and the Admin service checks [`Peer::client_certificate`].
//! A certificate that does not chain to the CA fails the handshake.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most handshakes in progress at once; past it, no new connection is accepted until one
/// finishes (or times out).
const MAX_HANDSHAKES: usize = 1024;

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A file holds no PEM item of the kind wanted, or bad PEM.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refuses the certificate, the key or the pair (a key that does not match the
    /// certificate, an unsupported key type, a CA that is not one).
    #[error("{what}: {source}")]
    Rustls {
        /// What was being set up, naming the files.
        what: String,
        /// Why.
        source: rustls::Error,
    },
    /// No usable CA certificate for client certificates.
    #[error("--client-ca {path}: {reason}")]
    ClientCa {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Every certificate of a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let bad = |reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate (a PEM `CERTIFICATE` block) in it".into()
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Pem {
        path: path.display().to_string(),
        reason: match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                "no private key (a PEM `PRIVATE KEY` block) in it".into()
            }
            e => format!("bad PEM: {e}"),
        },
    })
}

/// The server's TLS configuration: its certificate chain and key (PEM files) and, with
/// `client_ca`, optional client certificates that must chain to one of its CA certificates.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(cert)?;
    let key_der = private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Rustls {
            what: "the TLS protocol versions".into(),
            source,
        })?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let shown = path.display().to_string();
            let mut roots = RootCertStore::empty();
            for ca in certificates(path)? {
                roots.add(ca).map_err(|e| TlsError::ClientCa {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::ClientCa {
                    path: shown,
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config =
        builder
            .with_single_cert(chain, key_der)
            .map_err(|source| TlsError::Rustls {
                what: format!(
                    "--tls-cert {} with --tls-key {}",
                    cert.display(),
                    key.display()
                ),
                source,
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What a handler knows of its connection: axum puts it in every request's extensions as
/// `ConnectInfo<Peer>`, where tonic handlers find it too.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// Whether the client presented a certificate that chains to the client CA (checked in
    /// the handshake; never true without TLS or without `--client-ca`).
    pub client_certificate: bool,
}

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Peer {
        Peer {
            addr: *stream.remote_addr(),
            client_certificate: false,
        }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Peer {
        let (_, session) = stream.io().get_ref();
        Peer {
            addr: *stream.remote_addr(),
            client_certificate: session
                .peer_certificates()
                .is_some_and(|certs| !certs.is_empty()),
        }
    }
}

/// A TCP listener that yields TLS streams: each handshake runs in a task of its own, with a
/// timeout, so that a slow or silent client never holds up the others.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    /// Serves TLS with `config` on the connections of `tcp`.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

/// Completes a handshake, or gives up on the connection (the client sees it closed).
async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    addr: SocketAddr,
) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some((stream, addr)),
        Ok(Err(e)) => {
            tracing::debug!(%addr, "TLS handshake failed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!(%addr, "TLS handshake not done after {HANDSHAKE_TIMEOUT:?}");
            None
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    // Both branches are cancel safe: axum drops this future at shutdown.
    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept(), if self.handshakes.len() < MAX_HANDSHAKES => {
                    match accepted {
                        Ok((tcp, addr)) => {
                            self.handshakes
                                .spawn(handshake(self.acceptor.clone(), tcp, addr));
                        }
                        Err(e) => accept_error(e).await,
                    }
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(stream)) = done {
                        return stream;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// After a failed accept: a connection that went away is nothing; anything else (too many open
/// files) is logged and waited out, as axum does for its own TCP listener.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

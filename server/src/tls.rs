//! TLS on the one listener (rustls, ring provider, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`),
//! and what a handler learns of its connection ([`Peer`]).
//!
//! With a client CA, the handshake asks for a client certificate but does not require one, and
//! accepts any that the client proves it holds the key of: the log and its tiles stay open to
//! all. Right after the handshake the listener checks the certificate against the CA, and the
//! Admin service reads the outcome in [`Peer::client_certificate`]: a certificate of another CA
//! is refused there, with the reason, rather than as a failed handshake that clients report as
//! a closed connection.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::limits::{Limited, NoDelay, set_no_delay};
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use rustls::{SignatureScheme, pki_types::UnixTime};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
    #[error("reading {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: io::Error,
    },
    /// A file holds no PEM item of the kind wanted, or bad PEM.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The private key is not the one of the certificate.
    #[error("--tls-key {key} is not the private key of the certificate in --tls-cert {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
    },
    /// rustls refuses the certificate or the key (an unsupported key type, say).
    #[error("{what}: {error}")]
    Rustls {
        /// What was being set up, naming the files.
        what: String,
        /// Why.
        error: rustls::Error,
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
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.display().to_string(),
        error,
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

/// The listener's TLS settings: the rustls configuration, and the check of client
/// certificates against the client CA.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
}

impl ServerTls {
    /// Whether clients may present certificates (there is a client CA).
    pub fn asks_for_client_certificates(&self) -> bool {
        self.client_ca.is_some()
    }
}

/// The server's TLS settings: its certificate chain and key (PEM files) and, with `client_ca`
/// (PEM, CA certificates), optional client certificates, checked against those CAs.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<ServerTls, TlsError> {
    let chain = certificates(cert)?;
    let key_der = private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| TlsError::Rustls {
            what: "the TLS protocol versions".into(),
            error,
        })?;
    let client_ca = match client_ca {
        None => None,
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
                .build()
                .map_err(|e| TlsError::ClientCa {
                    path: shown,
                    reason: e.to_string(),
                })?;
            Some(verifier)
        }
    };
    let builder = match &client_ca {
        None => builder.with_no_client_auth(),
        Some(verifier) => {
            builder.with_client_cert_verifier(Arc::new(AnyClientCertificate(verifier.clone())))
        }
    };
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut config = builder
        .with_single_cert(chain, key_der)
        .map_err(|error| match error {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch { cert, key }
            }
            error => TlsError::Rustls {
                what: format!("--tls-cert {cert} with --tls-key {key}"),
                error,
            },
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        client_ca,
    })
}

/// The handshake's client certificate verifier: optional, and any certificate passes as long
/// as the client proves it holds its key (the signatures are the client CA verifier's checks).
/// Whether it chains to the client CA is checked after the handshake ([`check_client`]).
#[derive(Debug)]
struct AnyClientCertificate(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The client certificate of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCertificate {
    /// None was presented (or none asked for: no TLS, or no client CA).
    None,
    /// One that chains to the client CA.
    Verified,
    /// One that does not, and why.
    Refused(String),
}

/// The client certificate of a finished handshake, checked against the client CA.
fn check_client(
    client_ca: Option<&dyn ClientCertVerifier>,
    stream: &TlsStream<TcpStream>,
) -> ClientCertificate {
    let (Some(verifier), Some([end_entity, intermediates @ ..])) =
        (client_ca, stream.get_ref().1.peer_certificates())
    else {
        return ClientCertificate::None;
    };
    match verifier.verify_client_cert(end_entity, intermediates, UnixTime::now()) {
        Ok(_) => ClientCertificate::Verified,
        Err(e) => ClientCertificate::Refused(e.to_string()),
    }
}

/// What a handler knows of its connection: axum puts it in every request's extensions as
/// `ConnectInfo<Peer>`, where tonic handlers find it too.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The client's certificate, checked against the client CA.
    pub client_certificate: ClientCertificate,
}

impl Connected<IncomingStream<'_, Limited<NoDelay>>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Limited<NoDelay>>) -> Peer {
        Peer {
            addr: *stream.remote_addr(),
            client_certificate: ClientCertificate::None,
        }
    }
}

impl Connected<IncomingStream<'_, Limited<TlsListener>>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Limited<TlsListener>>) -> Peer {
        Peer {
            addr: *stream.remote_addr(),
            client_certificate: stream.io().get_ref().client_certificate.clone(),
        }
    }
}

/// A TLS connection, with its client certificate checked.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    client_certificate: ClientCertificate,
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A TCP listener that yields TLS connections: each handshake runs in a task of its own, with
/// a timeout, so that a slow or silent client never holds up the others.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    handshakes: JoinSet<Option<(TlsConnection, SocketAddr)>>,
}

impl TlsListener {
    /// Serves TLS with `tls` on the connections of `tcp`.
    pub fn new(tcp: TcpListener, tls: ServerTls) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(tls.config),
            client_ca: tls.client_ca,
            handshakes: JoinSet::new(),
        }
    }
}

/// Completes a handshake and checks the client certificate, or gives up on the connection
/// (the client sees it closed).
async fn handshake(
    acceptor: TlsAcceptor,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    tcp: TcpStream,
    addr: SocketAddr,
) -> Option<(TlsConnection, SocketAddr)> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let client_certificate = check_client(client_ca.as_deref(), &stream);
            if let ClientCertificate::Refused(reason) = &client_certificate {
                tracing::debug!(%addr, "client certificate refused: {reason}");
            }
            let connection = TlsConnection {
                stream,
                client_certificate,
            };
            Some((connection, addr))
        }
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
    type Io = TlsConnection;
    type Addr = SocketAddr;

    // Both branches are cancel safe: axum drops this future at shutdown.
    async fn accept(&mut self) -> (TlsConnection, SocketAddr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept(), if self.handshakes.len() < MAX_HANDSHAKES => {
                    match accepted {
                        Ok((mut tcp, addr)) => {
                            set_no_delay(&mut tcp);
                            let acceptor = self.acceptor.clone();
                            let client_ca = self.client_ca.clone();
                            self.handshakes.spawn(handshake(acceptor, client_ca, tcp, addr));
                        }
                        Err(e) => accept_error(e).await,
                    }
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
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

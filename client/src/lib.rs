//! The certlog client library: builds and signs the statements certifiers and operators
//! submit, talks to a log over gRPC, and checks what the log answers (signed checkpoints,
//! inclusion and consistency proofs) against the log's key when it is known.
//!
//! Every format and check comes from `certlog-verifier`; this crate adds the transport.

pub mod audit;
mod checkpoints;
pub mod cli;
pub mod tiles;

use certlog_proto::services::admin_client::AdminClient;
use certlog_proto::services::certificate_log_client::CertificateLogClient;
use certlog_proto::{
    CertificateRef, GetCheckpointRequest, GetConsistencyProofRequest, GetEntriesRequest,
    GetInclusionProofRequest, GetProofBundleRequest, GetStatusRequest, ProofBundle,
    SubmitBatchRequest, SubmitRequest, SubmitResponse, get_inclusion_proof_request::Leaf,
    get_proof_bundle_request as bundle_request, submit_batch_result,
};
use certlog_verifier::bundle::{Expected, Options, Policy};
use certlog_verifier::entry::{self, EntryError};
use certlog_verifier::merkle::{self, leaf_hash};
use certlog_verifier::proto::{
    Certificate, CertificateStatus, CertifierKeyRotated, CertifierRegistered, CertifierRetired,
    StatusChanged, StatusRecord, statement,
};
use certlog_verifier::{Hash, SignedCheckpoint, SigningKey, VerifierKey, certificate};
use prost::Message as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_stream::StreamExt as _;
use tonic::transport::{Channel, ClientTlsConfig, Identity};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The log could not be reached.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The log's address.
        url: String,
        /// Why, with the causes (a refused connection, a certificate that does not verify).
        reason: String,
    },
    /// The log refused the request, or the call failed on the way (the message then names
    /// the causes: a closed connection, a TLS alert).
    #[error("the log answered {:?}: {}", .0.code(), status_message(.0))]
    Rpc(tonic::Status),
    /// What the log answered does not verify: it is wrong, or not the log you think.
    #[error("the log's answer does not verify: {0}")]
    Verification(String),
    /// The statement could not be built.
    #[error("{0}")]
    Statement(String),
    /// A TLS file is unreadable or not what it should be.
    #[error("{0}")]
    Tls(String),
    /// An answer that must be proven, asked without the log's key to prove it with.
    #[error("{0} needs the log's key to check the log's answer (--log-vkey or CERTLOG_LOG_VKEY)")]
    NoLogKey(&'static str),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> ClientError {
        ClientError::Rpc(status)
    }
}

/// `text` followed by the messages of `source` and the errors under it, each joined by ": "
/// unless `text` already says it.
fn with_causes(mut text: String, mut source: Option<&(dyn std::error::Error + 'static)>) -> String {
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

/// The message of an error and of every error under it.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    with_causes(e.to_string(), e.source())
}

/// A status's message, and the causes of a call that failed on the way.
fn status_message(status: &tonic::Status) -> String {
    use std::error::Error as _;
    with_causes(status.message().to_string(), status.source())
}

/// TLS for an `https://` log: the CA its certificate must chain to (no other root is trusted),
/// and a client certificate for the Admin service of a log that asks for one.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// CA certificates (PEM).
    pub ca: Option<Vec<u8>>,
    /// A client certificate chain and its private key (PEM).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl Tls {
    /// Reads the CA certificates and the client certificate and key from PEM files, checking
    /// that each holds what it should.
    pub fn from_files(
        ca: Option<&std::path::Path>,
        client_cert: Option<&std::path::Path>,
        client_key: Option<&std::path::Path>,
    ) -> Result<Tls, ClientError> {
        let read = |path: &std::path::Path| {
            std::fs::read(path)
                .map_err(|e| ClientError::Tls(format!("reading {}: {e}", path.display())))
        };
        let certificates = |path: &std::path::Path| {
            let pem = read(path)?;
            let bad = |why: String| ClientError::Tls(format!("{}: {why}", path.display()));
            let count = CertificateDer::pem_slice_iter(&pem)
                .try_fold(0, |n, c| c.map(|_| n + 1))
                .map_err(|e| bad(format!("bad PEM: {e}")))?;
            if count == 0 {
                return Err(bad(
                    "no certificate (a PEM `CERTIFICATE` block) in it".into()
                ));
            }
            Ok(pem)
        };
        let identity = match (client_cert, client_key) {
            (Some(cert), Some(key)) => {
                let cert = certificates(cert)?;
                let pem = read(key)?;
                PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                    ClientError::Tls(format!("{}: no usable private key: {e}", key.display()))
                })?;
                Some((cert, pem))
            }
            (None, None) => None,
            _ => {
                return Err(ClientError::Tls(
                    "a client certificate needs its key, and a key its certificate".into(),
                ));
            }
        };
        Ok(Tls {
            ca: ca.map(certificates).transpose()?,
            identity,
        })
    }

    /// The TLS configuration of a channel.
    fn config(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(tonic::transport::Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    }

    /// A rustls configuration (ring) that trusts only the CA given, and nothing without one,
    /// for HTTPS reads (the auditor's tiles).
    pub fn rustls_config(&self) -> Result<rustls::ClientConfig, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca.as_deref().unwrap_or_default()) {
            let cert = cert.map_err(|e| ClientError::Tls(format!("bad CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ClientError::Tls(format!("CA certificate: {e}")))?;
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(config)
    }
}

fn hashes(raw: &[Vec<u8>]) -> Result<Vec<Hash>, ClientError> {
    raw.iter()
        .map(|h| {
            Hash::from_slice(h)
                .ok_or_else(|| ClientError::Verification("a proof hash is not 32 bytes".into()))
        })
        .collect()
}

/// Whose proof bundle.
#[derive(Clone, Debug)]
pub enum BundleFor {
    /// A certificate by scheme and ID.
    Id {
        /// Its scheme.
        scheme: String,
        /// Its ID.
        certificate_id: String,
    },
    /// The certificate that lists a firmware image, by its SHA-256.
    Firmware([u8; 32]),
}

/// The log's receipt for a submitted entry.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Whether the same bytes were logged before (the index is then the earlier entry's).
    pub duplicate: bool,
    /// With `wait`: the signed checkpoint that includes the entry, and the inclusion proof.
    pub proof: Option<(SignedCheckpoint, Vec<Hash>)>,
    /// With `wait`: how many witnesses must cosign the log's checkpoints (0: it has none), and
    /// whether that checkpoint carries their quorum's cosignatures.
    pub witness_quorum: u32,
    /// See `witness_quorum`.
    pub witnessed: bool,
}

/// The log's acknowledgement of one entry of a batch: it is durable, in a signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Whether the same bytes were logged before (the index is then the earlier entry's).
    pub duplicate: bool,
    /// The size of a signed checkpoint that includes it.
    pub tree_size: u64,
}

/// An inclusion proof as the log gave it.
#[derive(Clone, Debug)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size proven against.
    pub tree_size: u64,
    /// The entry's leaf hash.
    pub leaf_hash: Hash,
    /// The proof hashes, from the leaf up.
    pub proof: Vec<Hash>,
    /// The checkpoint of that tree size, when the log signed one, with its root.
    pub checkpoint: Option<SignedCheckpoint>,
}

/// The calls that submit an entry.
enum Call {
    Submit,
    Register,
    Retire,
    ChangeStatus,
    Rotate,
}

/// A connection to a log; clones share the connection.
#[derive(Clone)]
pub struct Client {
    log: CertificateLogClient<Channel>,
    admin: AdminClient<Channel>,
    log_key: Option<VerifierKey>,
    verified: checkpoints::LastVerified,
}

impl Client {
    /// Connects to the log at `url` (`http://host:port`). With `log_key`, every checkpoint and
    /// proof the log sends is checked against it.
    pub async fn connect(url: &str, log_key: Option<VerifierKey>) -> Result<Client, ClientError> {
        Client::connect_with(url, log_key, &Tls::default()).await
    }

    /// Connects as [`Client::connect`] does, and to an `https://` log with `tls` (unused for
    /// `http://`).
    pub async fn connect_with(
        url: &str,
        log_key: Option<VerifierKey>,
        tls: &Tls,
    ) -> Result<Client, ClientError> {
        let mut endpoint = Channel::from_shared(url.to_string())
            .map_err(|e| ClientError::Statement(format!("invalid server URL {url:?}: {e}")))?;
        let connect_error = |e: tonic::transport::Error| ClientError::Connect {
            url: url.into(),
            reason: error_chain(&e),
        };
        if endpoint.uri().scheme_str() == Some("https") {
            endpoint = endpoint.tls_config(tls.config()).map_err(connect_error)?;
        }
        let channel = endpoint.connect().await.map_err(connect_error)?;
        Ok(Client {
            log: CertificateLogClient::new(channel.clone()),
            admin: AdminClient::new(channel),
            log_key,
            verified: checkpoints::LastVerified::default(),
        })
    }

    /// Opens a signed checkpoint: verified when the log key is known, else only parsed.
    fn open_checkpoint(&self, text: &str) -> Result<SignedCheckpoint, ClientError> {
        let invalid =
            |e: &dyn std::fmt::Display| ClientError::Verification(format!("checkpoint: {e}"));
        match &self.log_key {
            Some(key) => self.verified.verify(text, key).map_err(|e| invalid(&e)),
            None => {
                let note =
                    certlog_verifier::Note::parse(text.as_bytes()).map_err(|e| invalid(&e))?;
                let checkpoint =
                    certlog_verifier::Checkpoint::parse(note.text()).map_err(|e| invalid(&e))?;
                Ok(SignedCheckpoint { checkpoint, note })
            }
        }
    }

    fn receipt(&self, leaf: Hash, response: SubmitResponse) -> Result<Receipt, ClientError> {
        if response.leaf_hash != leaf.0 {
            return Err(ClientError::Verification(
                "the log reports another leaf hash than the entry's".into(),
            ));
        }
        let proof = if response.checkpoint.is_empty() {
            None
        } else {
            let checkpoint = self.open_checkpoint(&response.checkpoint)?;
            let proof = hashes(&response.inclusion_proof)?;
            let c = &checkpoint.checkpoint;
            merkle::verify_inclusion(&leaf, response.index, c.size, &proof, &c.root)
                .map_err(|e| ClientError::Verification(format!("inclusion proof: {e}")))?;
            Some((checkpoint, proof))
        };
        Ok(Receipt {
            index: response.index,
            leaf_hash: leaf,
            duplicate: response.duplicate,
            proof,
            witness_quorum: response.witness_quorum,
            witnessed: response.witnessed,
        })
    }

    /// Sends an entry through one of the submitting calls and checks the receipt.
    async fn send(
        &mut self,
        call: Call,
        entry: Vec<u8>,
        wait: bool,
    ) -> Result<Receipt, ClientError> {
        let leaf = leaf_hash(&entry);
        let request = SubmitRequest { entry, wait };
        let response = match call {
            Call::Submit => self.log.submit(request).await,
            Call::Register => self.admin.register_certifier(request).await,
            Call::Retire => self.admin.retire_certifier(request).await,
            Call::ChangeStatus => self.admin.change_status(request).await,
            Call::Rotate => self.admin.rotate_certifier_key(request).await,
        }?;
        self.receipt(leaf, response.into_inner())
    }

    /// Submits a certifier's entry; returns once it is durable. With `wait`, the receipt holds
    /// the checkpoint that includes it and the inclusion proof, checked.
    pub async fn submit(&mut self, entry: Vec<u8>, wait: bool) -> Result<Receipt, ClientError> {
        self.send(Call::Submit, entry, wait).await
    }

    /// Submits certifiers' entries in one `SubmitBatch` call (at most
    /// [`certlog_proto::MAX_BATCH_ENTRIES`]); returns once all are durable or refused, one
    /// result per entry in order. A refused entry has the status `Submit` would give it alone.
    pub async fn submit_batch(
        &mut self,
        entries: Vec<Vec<u8>>,
    ) -> Result<Vec<Result<Acknowledged, ClientError>>, ClientError> {
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let results = self
            .log
            .submit_batch(SubmitBatchRequest { entries })
            .await?
            .into_inner()
            .results;
        if results.len() != leaves.len() {
            return Err(ClientError::Verification(format!(
                "{} results for {} entries",
                results.len(),
                leaves.len()
            )));
        }
        results
            .into_iter()
            .zip(leaves)
            .map(|(result, leaf)| match result.result {
                Some(submit_batch_result::Result::Accepted(a)) if a.leaf_hash == leaf.0 => {
                    Ok(Ok(Acknowledged {
                        index: a.index,
                        leaf_hash: leaf,
                        duplicate: a.duplicate,
                        tree_size: a.tree_size,
                    }))
                }
                Some(submit_batch_result::Result::Accepted(_)) => Err(ClientError::Verification(
                    "the log reports another leaf hash than the entry's".into(),
                )),
                Some(submit_batch_result::Result::Refused(r)) => Ok(Err(ClientError::Rpc(
                    tonic::Status::new(tonic::Code::from_i32(r.code), r.message),
                ))),
                None => Err(ClientError::Verification(
                    "a batch result is neither accepted nor refused".into(),
                )),
            })
            .collect()
    }

    /// Submits an operator's registration of a certifier.
    pub async fn register_certifier(
        &mut self,
        entry: Vec<u8>,
        wait: bool,
    ) -> Result<Receipt, ClientError> {
        self.send(Call::Register, entry, wait).await
    }

    /// Submits an operator's retirement of a certifier.
    pub async fn retire_certifier(
        &mut self,
        entry: Vec<u8>,
        wait: bool,
    ) -> Result<Receipt, ClientError> {
        self.send(Call::Retire, entry, wait).await
    }

    /// Submits an operator's rotation of a certifier's key.
    pub async fn rotate_certifier_key(
        &mut self,
        entry: Vec<u8>,
        wait: bool,
    ) -> Result<Receipt, ClientError> {
        self.send(Call::Rotate, entry, wait).await
    }

    /// Submits an operator's status change.
    pub async fn operator_change_status(
        &mut self,
        entry: Vec<u8>,
        wait: bool,
    ) -> Result<Receipt, ClientError> {
        self.send(Call::ChangeStatus, entry, wait).await
    }

    /// The signed checkpoint of `tree_size` (0: the latest), checked when the log key is known.
    pub async fn checkpoint(&mut self, tree_size: u64) -> Result<SignedCheckpoint, ClientError> {
        let text = self
            .log
            .get_checkpoint(GetCheckpointRequest { tree_size })
            .await?
            .into_inner()
            .checkpoint;
        self.open_checkpoint(&text)
    }

    /// The entries `start..end`.
    pub async fn entries(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let mut stream = self
            .log
            .get_entries(GetEntriesRequest { start, end })
            .await?
            .into_inner();
        let mut entries = Vec::new();
        while let Some(message) = stream.next().await {
            let message = message?;
            if message.start != start + entries.len() as u64 {
                return Err(ClientError::Verification(
                    "entries arrived out of order".into(),
                ));
            }
            entries.extend(message.entries);
        }
        if entries.len() as u64 != end - start {
            return Err(ClientError::Verification(format!(
                "asked for {} entries, got {}",
                end - start,
                entries.len()
            )));
        }
        Ok(entries)
    }

    /// The inclusion proof of entry `index` (or of the entry with `leaf`) in the tree of
    /// `tree_size` (0: the latest). Checked against the checkpoint when the log signed one at
    /// that size.
    pub async fn inclusion_proof(
        &mut self,
        leaf: Result<u64, Hash>,
        tree_size: u64,
    ) -> Result<InclusionProof, ClientError> {
        let leaf = match leaf {
            Ok(index) => Leaf::Index(index),
            Err(hash) => Leaf::LeafHash(hash.0.to_vec()),
        };
        let r = self
            .log
            .get_inclusion_proof(GetInclusionProofRequest {
                leaf: Some(leaf),
                tree_size,
            })
            .await?
            .into_inner();
        let leaf_hash = Hash::from_slice(&r.leaf_hash)
            .ok_or_else(|| ClientError::Verification("the leaf hash is not 32 bytes".into()))?;
        let proof = hashes(&r.proof)?;
        let checkpoint = if r.checkpoint.is_empty() {
            None
        } else {
            let checkpoint = self.open_checkpoint(&r.checkpoint)?;
            let c = &checkpoint.checkpoint;
            if c.size != r.tree_size {
                return Err(ClientError::Verification(
                    "the checkpoint is of another tree size".into(),
                ));
            }
            merkle::verify_inclusion(&leaf_hash, r.index, c.size, &proof, &c.root)
                .map_err(|e| ClientError::Verification(format!("inclusion proof: {e}")))?;
            Some(checkpoint)
        };
        Ok(InclusionProof {
            index: r.index,
            tree_size: r.tree_size,
            leaf_hash,
            proof,
            checkpoint,
        })
    }

    /// The consistency proof from `size1` to `size2` (0: the latest), with the checkpoint of
    /// `size2` when the log signed one.
    pub async fn consistency_proof(
        &mut self,
        size1: u64,
        size2: u64,
    ) -> Result<(u64, Vec<Hash>, Option<SignedCheckpoint>), ClientError> {
        let r = self
            .log
            .get_consistency_proof(GetConsistencyProofRequest { size1, size2 })
            .await?
            .into_inner();
        let checkpoint = match r.checkpoint.as_str() {
            "" => None,
            text => Some(self.open_checkpoint(text)?),
        };
        Ok((r.size2, hashes(&r.proof)?, checkpoint))
    }

    /// The proof bundle of a certificate (by scheme and ID, or by firmware SHA-256), with the
    /// consistency proof from `since` when it is not 0. Checked with the log key when it is
    /// known (the status is not judged here: that is the verifier's, at its own time).
    pub async fn bundle(
        &mut self,
        certificate: BundleFor,
        since: u64,
    ) -> Result<ProofBundle, ClientError> {
        let request = match &certificate {
            BundleFor::Id {
                scheme,
                certificate_id,
            } => bundle_request::Certificate::Id(CertificateRef {
                scheme: scheme.clone(),
                certificate_id: certificate_id.clone(),
            }),
            BundleFor::Firmware(digest) => {
                bundle_request::Certificate::FirmwareSha256(digest.to_vec())
            }
        };
        let bundle = self
            .log
            .get_proof_bundle(GetProofBundleRequest {
                certificate: Some(request),
                since,
            })
            .await?
            .into_inner();
        if let Some(log_key) = &self.log_key {
            let policy = Policy {
                log_key,
                witnesses: &[],
                quorum: 0,
            };
            // The certificate asked for; by firmware, the one the log found, which must list it.
            let (expected, firmware_sha256) = match &certificate {
                BundleFor::Id {
                    scheme,
                    certificate_id,
                } => (Expected::new(scheme, certificate_id), None),
                BundleFor::Firmware(digest) => (
                    Expected::new(&bundle.scheme, &bundle.certificate_id),
                    Some(*digest),
                ),
            };
            let options = Options {
                now: 0,
                firmware_sha256,
                ..Options::default()
            };
            let bytes = bundle.encode_to_vec();
            certlog_verifier::bundle::verify_bundle(&bytes, &policy, &expected, &options)
                .map_err(|e| ClientError::Verification(format!("proof bundle: {e}")))?;
        }
        Ok(bundle)
    }

    /// A certificate's status, proven: its proof bundle from the log, verified against the
    /// log's key for this certificate (docs/trust.md). Needs the log's key.
    pub async fn proven_status(
        &mut self,
        scheme: &str,
        certificate_id: &str,
    ) -> Result<certlog_verifier::bundle::Verified, ClientError> {
        let Some(log_key) = &self.log_key else {
            return Err(ClientError::NoLogKey("a proven status"));
        };
        let log_key = log_key.clone();
        let bundle = self
            .log
            .get_proof_bundle(GetProofBundleRequest {
                certificate: Some(bundle_request::Certificate::Id(CertificateRef {
                    scheme: scheme.into(),
                    certificate_id: certificate_id.into(),
                })),
                since: 0,
            })
            .await?
            .into_inner();
        let policy = Policy {
            log_key: &log_key,
            witnesses: &[],
            quorum: 0,
        };
        let options = Options {
            now: certlog_verifier::certificate::json::now(),
            ..Options::default()
        };
        certlog_verifier::bundle::verify_bundle(
            &bundle.encode_to_vec(),
            &policy,
            &Expected::new(scheme, certificate_id),
            &options,
        )
        .map_err(|e| {
            ClientError::Verification(format!("the status of {scheme}/{certificate_id}: {e}"))
        })
    }

    /// A certificate's status record and the indexes of its entries, as the log says them,
    /// without a proof (see [`Client::proven_status`]).
    pub async fn status(
        &mut self,
        scheme: &str,
        certificate_id: &str,
    ) -> Result<(StatusRecord, Vec<u64>), ClientError> {
        let r = self
            .log
            .get_status(GetStatusRequest {
                scheme: scheme.into(),
                certificate_id: certificate_id.into(),
            })
            .await?
            .into_inner();
        let record = r
            .record
            .ok_or_else(|| ClientError::Verification("the status answer has no record".into()))?;
        Ok((record, r.entry_indexes))
    }
}

fn sign(key: &SigningKey, body: statement::Body) -> Result<Vec<u8>, ClientError> {
    let signed = entry::sign_statement(key, body)
        .map_err(|e: EntryError| ClientError::Statement(e.to_string()))?;
    Ok(entry::encode_entry(signed))
}

/// The entry of a certifier publishing a certificate, checked against the log's rules first.
pub fn issue_certificate(
    key: &SigningKey,
    certificate: Certificate,
) -> Result<Vec<u8>, ClientError> {
    certificate::validate(&certificate).map_err(|e| ClientError::Statement(e.to_string()))?;
    sign(key, statement::Body::CertificateIssued(certificate))
}

/// Who signs a status change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangedBy {
    /// The certificate's issuer.
    Certifier,
    /// The log's operator.
    Operator,
}

/// The entry of a certifier or the operator changing a certificate's status, following its
/// current record (which the caller proved: [`Client::proven_status`]).
pub fn change_status(
    key: &SigningKey,
    by: ChangedBy,
    current: &StatusRecord,
    status: CertificateStatus,
    reason: &str,
    effective_at: i64,
) -> Result<Vec<u8>, ClientError> {
    if !certificate::transition_allowed(current.status(), status) {
        return Err(ClientError::Statement(format!(
            "certificate {}/{} is {}: it cannot become {}",
            current.scheme,
            current.certificate_id,
            certificate::status_name(current.status()),
            certificate::status_name(status)
        )));
    }
    let change = StatusChanged {
        scheme: current.scheme.clone(),
        certificate_id: current.certificate_id.clone(),
        issued_index: current.issued_index,
        previous_index: current.last_change_index,
        status: status.into(),
        reason: reason.into(),
        effective_at,
    };
    let body = match by {
        ChangedBy::Certifier => statement::Body::StatusChanged(change),
        ChangedBy::Operator => statement::Body::OperatorStatusChanged(change),
    };
    sign(key, body)
}

/// The operator's entry registering a certifier's key for some schemes.
pub fn register_certifier(
    operator: &SigningKey,
    certifier: &VerifierKey,
    schemes: Vec<String>,
    now: i64,
) -> Result<Vec<u8>, ClientError> {
    sign(
        operator,
        statement::Body::CertifierRegistered(CertifierRegistered {
            vkey: certifier.to_string(),
            schemes,
            registered_at: now,
        }),
    )
}

/// The operator's entry retiring a certifier for good.
pub fn retire_certifier(
    operator: &SigningKey,
    name: &str,
    reason: &str,
    compromised_since: Option<i64>,
    now: i64,
) -> Result<Vec<u8>, ClientError> {
    sign(
        operator,
        statement::Body::CertifierRetired(CertifierRetired {
            name: name.into(),
            reason: reason.into(),
            retired_at: now,
            compromised_since: compromised_since.unwrap_or(0),
        }),
    )
}

/// The operator's entry giving a certifier a new key (named as the certifier).
pub fn rotate_certifier_key(
    operator: &SigningKey,
    vkey: &VerifierKey,
    reason: &str,
    now: i64,
) -> Result<Vec<u8>, ClientError> {
    sign(
        operator,
        statement::Body::CertifierKeyRotated(CertifierKeyRotated {
            vkey: vkey.to_string(),
            reason: reason.into(),
            rotated_at: now,
        }),
    )
}

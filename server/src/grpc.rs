//! The gRPC services of certlog.v1: `CertificateLog` and `Admin`, thin over [`Log`]. Every
//! refusal carries the reason and the status code of its class.

use std::sync::Arc;

use certlog_log::rules::Violation;
use certlog_proto::services::admin_server::Admin;
use certlog_proto::services::certificate_log_server::CertificateLog;
use certlog_proto::{
    CertificateRef, GetCheckpointRequest, GetCheckpointResponse, GetConsistencyProofRequest,
    GetConsistencyProofResponse, GetEntriesRequest, GetEntriesResponse, GetInclusionProofRequest,
    GetInclusionProofResponse, GetProofBundleRequest, GetStatusRequest, GetStatusResponse,
    MAX_BATCH_ENTRIES, ProofBundle, SubmitBatchAccepted, SubmitBatchRefused, SubmitBatchRequest,
    SubmitBatchResponse, SubmitBatchResult, SubmitRequest, SubmitResponse,
    get_inclusion_proof_request::Leaf, get_proof_bundle_request::Certificate,
    submit_batch_result::Result as BatchResult,
};
use certlog_verifier::Hash;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

use crate::log::{BundleTarget, Channel, Log, LogError};
use crate::tls::{ClientCertificate, Peer};

/// Entries per message of a GetEntries stream.
const ENTRIES_PER_MESSAGE: u64 = 256;

/// How tonic's refusal of a request over the message size limit begins.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";

/// Whether a content type is gRPC with protobuf messages, the only encoding certlogd speaks.
fn is_grpc_protobuf(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/grpc")
        || essence.eq_ignore_ascii_case("application/grpc+proto")
}

/// The edge of the gRPC routes, where tonic leaves gaps:
///
/// - a request whose content type is not gRPC with protobuf is answered HTTP 415, as gRPC over
///   HTTP/2 says (PROTOCOL-HTTP2.md), rather than decoded as gRPC frames and answered `200 OK`,
///   which a plain HTTP client would take for a success;
/// - an unknown method of a known service gets a message naming it (tonic sends none);
/// - a request over the message size limit is RESOURCE_EXHAUSTED, as in gRPC's other
///   implementations, not tonic's OUT_OF_RANGE, which certlog.v1 uses for tree sizes beyond
///   the log (a state that changes; an oversized message never fits).
pub async fn edge(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;

    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !content_type.as_deref().is_some_and(is_grpc_protobuf) {
        let given = content_type.map_or("none".into(), |t| format!("{t:?}"));
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CACHE_CONTROL, "no-store")],
            format!(
                "{} is a gRPC method: its content type must be application/grpc (protobuf), \
                 not {given}\n",
                request.uri().path()
            ),
        )
            .into_response();
    }
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    match Status::from_header_map(response.headers()) {
        Some(status) if status.code() == Code::Unimplemented && status.message().is_empty() => {
            Status::unimplemented(format!("no method {path}")).into_http()
        }
        Some(status)
            if status.code() == Code::OutOfRange
                && status.message().starts_with(TONIC_TOO_LARGE) =>
        {
            Status::resource_exhausted(status.message()).into_http()
        }
        _ => response,
    }
}

impl From<LogError> for Status {
    fn from(e: LogError) -> Status {
        let code = match &e {
            LogError::Rule(rule) => match rule {
                certlog_log::rules::RuleError::State(_) => Code::Unavailable,
                _ => match rule.violation() {
                    Violation::InvalidArgument => Code::InvalidArgument,
                    Violation::Unauthenticated => Code::Unauthenticated,
                    Violation::PermissionDenied => Code::PermissionDenied,
                    Violation::AlreadyExists => Code::AlreadyExists,
                    Violation::NotFound => Code::NotFound,
                    Violation::FailedPrecondition => Code::FailedPrecondition,
                },
            },
            LogError::InvalidArgument(_) => Code::InvalidArgument,
            LogError::OutOfRange(_) => Code::OutOfRange,
            LogError::NotFound(_) => Code::NotFound,
            LogError::Overloaded(_) => Code::ResourceExhausted,
            LogError::Unavailable(_) => Code::Unavailable,
        };
        Status::new(code, e.to_string())
    }
}

/// `ResourceExhausted` -> `resource_exhausted`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn hashes(proof: Vec<Hash>) -> Vec<Vec<u8>> {
    proof.into_iter().map(|h| h.0.to_vec()).collect()
}

/// `certlog.v1.CertificateLog`.
#[derive(Clone)]
pub struct CertificateLogService(pub Arc<Log>);

/// `certlog.v1.Admin`: the operator's signature on every entry, and, on a log with a client
/// CA, a client certificate on the connection.
#[derive(Clone)]
pub struct AdminService {
    log: Arc<Log>,
    require_client_certificate: bool,
}

impl AdminService {
    /// The Admin service of `log`; with `require_client_certificate`, calls over connections
    /// without a verified client certificate are refused (UNAUTHENTICATED).
    pub fn new(log: Arc<Log>, require_client_certificate: bool) -> AdminService {
        AdminService {
            log,
            require_client_certificate,
        }
    }

    /// Refuses a call whose connection did not present a client certificate, when one is
    /// required.
    fn authenticate<T>(&self, request: &Request<T>) -> Result<(), Status> {
        if !self.require_client_certificate {
            return Ok(());
        }
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<Peer>>()
            .map(|info| &info.0.client_certificate);
        let refusal = match peer {
            Some(ClientCertificate::Verified) => return Ok(()),
            Some(ClientCertificate::Refused(reason)) => Status::unauthenticated(format!(
                "the Admin service needs a client certificate issued by the log's client CA; \
                 this one is not: {reason}"
            )),
            Some(ClientCertificate::None) | None => Status::unauthenticated(
                "the Admin service needs a client certificate issued by the log's client CA \
                 (certlog --client-cert FILE --client-key FILE)",
            ),
        };
        self.log.metrics().rejected("unauthenticated");
        Err(refusal)
    }
}

/// The status of a refused submission, counted in the metrics by its code.
fn refused(log: &Log, e: LogError) -> Status {
    let status = Status::from(e);
    log.metrics()
        .rejected(&snake_case(&format!("{:?}", status.code())));
    status
}

/// Appends the entries of a batch, each as `Submit` without `wait` would, and answers one
/// result per entry; only an empty or too large batch fails as a whole.
async fn submit_batch(
    log: &Log,
    request: SubmitBatchRequest,
    channel: Channel,
) -> Result<SubmitBatchResponse, Status> {
    let count = request.entries.len();
    if count == 0 || count > MAX_BATCH_ENTRIES {
        return Err(refused(
            log,
            LogError::InvalidArgument(format!(
                "SubmitBatch takes 1 to {MAX_BATCH_ENTRIES} entries, not {count}"
            )),
        ));
    }
    let results = log.submit_batch(request.entries, channel).await;
    let results = results
        .into_iter()
        .map(|result| SubmitBatchResult {
            result: Some(match result {
                Ok(sequenced) => BatchResult::Accepted(SubmitBatchAccepted {
                    index: sequenced.index,
                    leaf_hash: sequenced.leaf_hash.0.to_vec(),
                    duplicate: sequenced.duplicate,
                    tree_size: sequenced.published.size,
                }),
                Err(e) => {
                    let status = refused(log, e);
                    BatchResult::Refused(SubmitBatchRefused {
                        code: status.code() as i32,
                        message: status.message().to_owned(),
                    })
                }
            }),
        })
        .collect();
    Ok(SubmitBatchResponse { results })
}

/// Appends an entry and, with `wait`, adds the checkpoint and the inclusion proof: on a log
/// with witnesses, of a checkpoint their quorum cosigned, if one comes in time.
async fn submit(
    log: &Log,
    request: SubmitRequest,
    channel: Channel,
) -> Result<SubmitResponse, Status> {
    let sequenced = match log.submit(request.entry, channel).await {
        Ok(sequenced) => sequenced,
        Err(e) => return Err(refused(log, e)),
    };
    let mut response = SubmitResponse {
        index: sequenced.index,
        leaf_hash: sequenced.leaf_hash.0.to_vec(),
        duplicate: sequenced.duplicate,
        ..SubmitResponse::default()
    };
    if request.wait {
        let (mut size, mut checkpoint) = (
            sequenced.published.size,
            sequenced.published.checkpoint.clone(),
        );
        if log.cosigner().enabled() {
            response.witness_quorum = u32::try_from(log.cosigner().quorum()).unwrap_or(u32::MAX);
            if let Some(witnessed) = log.cosigner().witnessed_from(size).await {
                (size, checkpoint) = (witnessed.size, witnessed.checkpoint.clone());
                response.witnessed = true;
            }
        }
        let (_, _, proof) = log.inclusion_proof(sequenced.index, size)?;
        response.checkpoint = checkpoint;
        response.inclusion_proof = hashes(proof);
    }
    Ok(response)
}

#[tonic::async_trait]
impl CertificateLog for CertificateLogService {
    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        submit(&self.0, request.into_inner(), Channel::Certifier)
            .await
            .map(Response::new)
    }

    async fn submit_batch(
        &self,
        request: Request<SubmitBatchRequest>,
    ) -> Result<Response<SubmitBatchResponse>, Status> {
        submit_batch(&self.0, request.into_inner(), Channel::Certifier)
            .await
            .map(Response::new)
    }

    async fn get_checkpoint(
        &self,
        request: Request<GetCheckpointRequest>,
    ) -> Result<Response<GetCheckpointResponse>, Status> {
        let checkpoint = self.0.checkpoint(request.into_inner().tree_size)?;
        Ok(Response::new(GetCheckpointResponse { checkpoint }))
    }

    type GetEntriesStream = ReceiverStream<Result<GetEntriesResponse, Status>>;

    async fn get_entries(
        &self,
        request: Request<GetEntriesRequest>,
    ) -> Result<Response<Self::GetEntriesStream>, Status> {
        let GetEntriesRequest { start, end } = request.into_inner();
        // Check the range now, so that a bad one is an error status rather than a broken stream.
        let size = self.0.published().size;
        if start >= end || end > size {
            return Err(LogError::OutOfRange(format!(
                "entries {start}..{end} are not a non-empty range within the tree size {size}"
            ))
            .into());
        }
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let log = self.0.clone();
        tokio::spawn(async move {
            let mut from = start;
            while from < end {
                let to = end.min(from + ENTRIES_PER_MESSAGE);
                let message = log
                    .entries(from, to)
                    .map(|entries| GetEntriesResponse {
                        start: from,
                        entries,
                    })
                    .map_err(Status::from);
                let failed = message.is_err();
                if tx.send(message).await.is_err() || failed {
                    return;
                }
                from = to;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<GetInclusionProofRequest>,
    ) -> Result<Response<GetInclusionProofResponse>, Status> {
        let request = request.into_inner();
        let index = match request.leaf {
            Some(Leaf::Index(index)) => index,
            Some(Leaf::LeafHash(bytes)) => {
                let hash = Hash::from_slice(&bytes)
                    .ok_or_else(|| Status::invalid_argument("leaf_hash must be 32 bytes"))?;
                self.0.leaf_index(&hash)?
            }
            None => return Err(Status::invalid_argument("give an index or a leaf_hash")),
        };
        let (tree_size, leaf, proof) = self.0.inclusion_proof(index, request.tree_size)?;
        Ok(Response::new(GetInclusionProofResponse {
            index,
            tree_size,
            leaf_hash: leaf.0.to_vec(),
            proof: hashes(proof),
            checkpoint: self.0.checkpoint_if_signed(tree_size)?.unwrap_or_default(),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<GetConsistencyProofRequest>,
    ) -> Result<Response<GetConsistencyProofResponse>, Status> {
        let GetConsistencyProofRequest { size1, size2 } = request.into_inner();
        let (size2, proof) = self.0.consistency_proof(size1, size2)?;
        Ok(Response::new(GetConsistencyProofResponse {
            size1,
            size2,
            proof: hashes(proof),
            checkpoint: self.0.checkpoint_if_signed(size2)?.unwrap_or_default(),
        }))
    }

    async fn get_proof_bundle(
        &self,
        request: Request<GetProofBundleRequest>,
    ) -> Result<Response<ProofBundle>, Status> {
        let request = request.into_inner();
        let target = match request.certificate {
            Some(Certificate::Id(CertificateRef {
                scheme,
                certificate_id,
            })) => BundleTarget::Certificate {
                scheme,
                certificate_id,
            },
            Some(Certificate::FirmwareSha256(digest)) => BundleTarget::Firmware(
                digest
                    .try_into()
                    .map_err(|_| Status::invalid_argument("firmware_sha256 must be 32 bytes"))?,
            ),
            None => {
                return Err(Status::invalid_argument(
                    "give a certificate ID or a firmware digest",
                ));
            }
        };
        Ok(Response::new(self.0.bundle(target, request.since).await?))
    }

    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<GetStatusResponse>, Status> {
        let GetStatusRequest {
            scheme,
            certificate_id,
        } = request.into_inner();
        let (record, entry_indexes) = self.0.status(&scheme, &certificate_id).await?;
        Ok(Response::new(GetStatusResponse {
            record: Some(record),
            entry_indexes,
        }))
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn register_certifier(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        self.authenticate(&request)?;
        submit(&self.log, request.into_inner(), Channel::Register)
            .await
            .map(Response::new)
    }

    async fn retire_certifier(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        self.authenticate(&request)?;
        submit(&self.log, request.into_inner(), Channel::Retire)
            .await
            .map(Response::new)
    }

    async fn change_status(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        self.authenticate(&request)?;
        submit(&self.log, request.into_inner(), Channel::OperatorStatus)
            .await
            .map(Response::new)
    }

    async fn rotate_certifier_key(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        self.authenticate(&request)?;
        submit(&self.log, request.into_inner(), Channel::Rotate)
            .await
            .map(Response::new)
    }
}

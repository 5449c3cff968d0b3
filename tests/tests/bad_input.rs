//! The bad-input matrix: malformed, hostile or absurd input to every interface of the real
//! certlogd (gRPC over HTTP/2, the tile API over HTTP/1.1, raw TCP), to the real witness, and to
//! the `certlog` and `certlog-verify` command lines. Each case is a row of [`cases`]: a name, the
//! request, and the exact status expected (gRPC code, HTTP status, HTTP/2 GOAWAY error code or
//! exit status) with a part of the message that names the reason. After every case the log is
//! unharmed: gRPC health says SERVING, the tree has the same size and root, certlogd logged no
//! panic, and the witness still answers with its size.
//!
//! The cases complement rejections.rs (the log's rules), http.rs (tile paths and caching) and
//! witness.rs (the witness protocol); none of theirs is repeated here. Entries are signed with
//! `certlog_verifier::entry` directly, and gRPC requests are sent as raw HTTP/2 requests, so that
//! neither the client library nor the generated client can refuse them first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use certlog_log::witness::AddCheckpoint;
use certlog_proto::{
    CertificateRef, GetCheckpointRequest, GetConsistencyProofRequest, GetEntriesRequest,
    GetInclusionProofRequest, GetProofBundleRequest, GetStatusRequest, SubmitBatchRequest,
    SubmitRequest, get_inclusion_proof_request::Leaf,
    get_proof_bundle_request::Certificate as BundleTarget,
};
use certlog_tests::witness::Witness;
use certlog_tests::{
    Bin, Certifier, DEFAULT_ORIGIN, Log, PROCESS_TIMEOUT, certificate, issue_entry,
    parse_http_response, signed_entry,
};
use certlog_verifier::proto::{
    CertificateStatus, CertifierRegistered, Entry, SignedStatement, Statement, StatusChanged,
    entry as entry_pb, statement,
};
use certlog_verifier::{Hash, KeyType, SignedCheckpoint, SigningKey, entry};
use http_body_util::BodyExt as _;
use prost::Message as _;
use tonic::Code;
use tonic::codegen::{Bytes, Service as _, http};
use tonic_health::pb::health_check_response::ServingStatus;

// ---- requests and what comes back ----

/// A request of the matrix.
enum Request {
    /// A gRPC call over HTTP/2 to the log: the path, the content type, more headers, and the
    /// body as sent (gRPC frames, or anything).
    Grpc {
        path: String,
        content_type: &'static str,
        headers: Vec<(&'static str, &'static str)>,
        body: Vec<u8>,
    },
    /// Bytes on a new TCP connection to the log, its HTTP/1.1 answer read to the end.
    Tcp(Vec<u8>),
    /// The HTTP/2 client preface and an empty SETTINGS frame, then these bytes, on a new TCP
    /// connection to the log; the server's frames read until it closes the connection.
    Http2(Vec<u8>),
    /// Bytes on a new TCP connection to the witness, its HTTP/1.1 answer read to the end.
    Witness(Vec<u8>),
    /// A command line: `certlog` or `certlog-verify`, with these arguments, in the work
    /// directory.
    Cli(Bin, Vec<String>),
}

/// What a request got back, or what is expected: the status and the message that goes with it.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    /// A gRPC status (`Code::Ok` included), in an HTTP 200 response.
    Grpc(Code),
    /// An HTTP status other than a gRPC answer.
    Http(u16),
    /// The HTTP/2 connection closed with a GOAWAY frame of this error code (RFC 9113 7).
    GoAway(u32),
    /// A command's exit status.
    Exit(i32),
    /// The connection closed without an answer.
    Closed,
}

/// HTTP/2 error codes (RFC 9113 7).
const PROTOCOL_ERROR: u32 = 0x1;
const FRAME_SIZE_ERROR: u32 = 0x6;

fn h2_error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        PROTOCOL_ERROR => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        FRAME_SIZE_ERROR => "FRAME_SIZE_ERROR",
        0x9 => "COMPRESSION_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        _ => "another error",
    }
}

/// A case: what it sends, the status it must get, and a part of the message naming the reason
/// (for answers that have no message, such as hyper's refusals of bytes that are not HTTP, the
/// status is the reason and the needle is empty).
struct Case {
    name: &'static str,
    request: Request,
    status: Status,
    needle: String,
}

fn case(name: &'static str, request: Request, status: Status, needle: impl Into<String>) -> Case {
    Case {
        name,
        request,
        status,
        needle: needle.into(),
    }
}

// ---- building requests ----

/// A gRPC message frame: not compressed, with its length (gRPC over HTTP/2, "Length-Prefixed-
/// Message").
fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// A well-formed gRPC call of `path` with `message`.
fn grpc(path: &str, message: &impl prost::Message) -> Request {
    grpc_body(path, frame(&message.encode_to_vec()))
}

/// A gRPC call of `path` whose body is `body`, as is.
fn grpc_body(path: &str, body: Vec<u8>) -> Request {
    grpc_with(path, "application/grpc", vec![], body)
}

fn grpc_with(
    path: &str,
    content_type: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
) -> Request {
    Request::Grpc {
        path: path.into(),
        content_type,
        headers,
        body,
    }
}

/// `Submit` of an entry, with wait.
fn submit(entry: Vec<u8>) -> Request {
    grpc(SUBMIT, &SubmitRequest { entry, wait: true })
}

/// `Admin.RegisterCertifier` of an entry, with wait.
fn register(entry: Vec<u8>) -> Request {
    grpc(REGISTER, &SubmitRequest { entry, wait: true })
}

/// A `SubmitRequest` whose encoding is exactly `len` bytes.
fn submit_request_of(len: usize) -> SubmitRequest {
    (len - 8..len)
        .map(|n| SubmitRequest {
            entry: vec![0x0a; n],
            wait: false,
        })
        .find(|r| r.encoded_len() == len)
        .unwrap_or_else(|| panic!("no SubmitRequest of {len} bytes"))
}

/// An HTTP/1.1 request with no body, closing the connection after the answer.
fn http1(method: &str, path: &str) -> Request {
    Request::Tcp(
        format!("{method} {path} HTTP/1.1\r\nHost: certlog\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    )
}

/// An HTTP/2 frame.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Bytes that are no protocol at all (a fixed pseudo-random sequence).
fn garbage(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}

/// `POST /add-checkpoint` to the witness with `body`.
fn witness_post(path: &str, body: &[u8]) -> Request {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: witness\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    Request::Witness(request)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Re-encodes the signed statement of an entry after `change`.
fn edit_signed(entry: &[u8], change: impl FnOnce(&mut SignedStatement)) -> Vec<u8> {
    let mut decoded = Entry::decode(entry).unwrap();
    let Some(entry_pb::Body::SignedStatement(signed)) = &mut decoded.body else {
        panic!("not a signed statement");
    };
    change(signed);
    decoded.encode_to_vec()
}

/// An entry whose statement bytes are `statement`, validly signed by `key`: the signature
/// holds, whatever the bytes are.
fn signed_bytes(key: &SigningKey, statement: Vec<u8>) -> Vec<u8> {
    let mut message = entry::STATEMENT_CONTEXT.to_vec();
    message.extend_from_slice(&statement);
    entry::encode_entry(SignedStatement {
        signature: key.sign_bytes(&message).to_vec(),
        statement,
        signer: key.name().into(),
        key_id: key.key_id(),
    })
}

/// `bytes` with the first occurrence of `find` changed at `offset` to `to`.
fn corrupt(bytes: &[u8], find: &[u8], offset: usize, to: u8) -> Vec<u8> {
    let at = bytes
        .windows(find.len())
        .position(|w| w == find)
        .unwrap_or_else(|| panic!("{find:?} not found"));
    let mut changed = bytes.to_vec();
    changed[at + offset] = to;
    changed
}

const SUBMIT: &str = "/certlog.v1.CertificateLog/Submit";
const SUBMIT_BATCH: &str = "/certlog.v1.CertificateLog/SubmitBatch";
const REGISTER: &str = "/certlog.v1.Admin/RegisterCertifier";
const CHECKPOINT: &str = "/certlog.v1.CertificateLog/GetCheckpoint";
const ENTRIES: &str = "/certlog.v1.CertificateLog/GetEntries";
const INCLUSION: &str = "/certlog.v1.CertificateLog/GetInclusionProof";
const CONSISTENCY: &str = "/certlog.v1.CertificateLog/GetConsistencyProof";
const STATUS: &str = "/certlog.v1.CertificateLog/GetStatus";
const BUNDLE: &str = "/certlog.v1.CertificateLog/GetProofBundle";

// ---- sending them ----

/// Sends a raw gRPC request over HTTP/2 (a channel of its own) and reads the whole answer.
async fn send_grpc(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (Status, String) {
    let mut channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", content_type)
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = tonic::body::Body::new(http_body_util::Full::new(Bytes::from(body)));
    let request = request.body(body).unwrap();
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .unwrap();
    let response = match channel.call(request).await {
        Ok(response) => response,
        Err(e) => return (Status::Closed, format!("{e:?}")),
    };
    let (head, body) = response.into_parts();
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(e) => return (Status::Closed, format!("{e:?}")),
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let bytes = collected.to_bytes();
    // A gRPC answer: the status in the headers (trailers-only) or in the trailers.
    let status = tonic::Status::from_header_map(&head.headers)
        .or_else(|| tonic::Status::from_header_map(&trailers));
    match (head.status.as_u16(), status) {
        (200, Some(status)) => (Status::Grpc(status.code()), status.message().to_string()),
        (status, _) => {
            let mut text = String::new();
            for (name, value) in &head.headers {
                text.push_str(&format!(
                    "{name}: {}\n",
                    String::from_utf8_lossy(value.as_bytes())
                ));
            }
            text.push_str(&String::from_utf8_lossy(&bytes));
            (Status::Http(status), text)
        }
    }
}

/// Writes `bytes` on a new connection to `addr` and reads until the server closes it.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PROCESS_TIMEOUT)).unwrap();
    // The server may answer and close before it read everything: what it answered counts.
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// An HTTP/1.1 answer: its status, and its headers and body as text.
fn http_answer(raw: &[u8]) -> (Status, String) {
    if !raw.starts_with(b"HTTP/1.") {
        return (Status::Closed, String::from_utf8_lossy(raw).into_owned());
    }
    let response = parse_http_response(raw);
    let mut text = String::new();
    for (name, value) in &response.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&response.text());
    (Status::Http(response.status), text)
}

/// The GOAWAY frame among the frames the server sent, if any.
fn h2_answer(raw: &[u8]) -> (Status, String) {
    let mut rest = raw;
    let mut kinds = Vec::new();
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        if rest.len() < 9 + len {
            break;
        }
        let (kind, payload) = (rest[3], &rest[9..9 + len]);
        if kind == 0x7 && payload.len() >= 8 {
            let code = u32::from_be_bytes(payload[4..8].try_into().unwrap());
            let debug = String::from_utf8_lossy(&payload[8..]);
            return (
                Status::GoAway(code),
                format!("{} {debug}", h2_error_name(code)),
            );
        }
        kinds.push(kind);
        rest = &rest[9 + len..];
    }
    (
        Status::Closed,
        format!("frames of types {kinds:?}, then no GOAWAY"),
    )
}

/// The HTTP/2 client preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

// ---- the log under test ----

/// A log with a certifier, one certificate and its bundle, a witness that cosigned the log's
/// checkpoint, and the files the command-line cases use.
struct Fixture {
    log: Log,
    witness: Witness,
    cb: Certifier,
    /// The issued certificate's entry and index.
    issued: (Vec<u8>, u64),
    /// The checkpoint the witness cosigned last.
    witnessed: SignedCheckpoint,
    /// The bytes of entry 0, the certifier's registration.
    registration: Vec<u8>,
    /// The bytes of the log's last entry, a map head.
    last_map_head: Vec<u8>,
}

impl Fixture {
    async fn new() -> Fixture {
        let log = Log::start();
        let cb = log.certifier("cb.example", &["EUCC"]);
        let mut client = log.client().await;
        let issued = issue_entry(&cb.signing_key(), certificate("EUCC", "EUCC-1"));
        let receipt = client.submit(issued.clone(), true).await.unwrap();
        let witness = Witness::start(&[(DEFAULT_ORIGIN, &log.log_vkey_file())]);
        let witnessed = log.checkpoint();
        let size = witnessed.checkpoint.size;
        let registration = client.entries(0, 1).await.unwrap().remove(0);
        let last_map_head = client.entries(size - 1, size).await.unwrap().remove(0);
        let first = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: witnessed.to_text().into_bytes(),
        };
        let answer = witness.add_checkpoint(&first.to_bytes());
        assert_eq!(answer.status, 200, "{}", answer.text());

        // The files of the command-line cases, in the work directory.
        let work = log.work_dir();
        let write = |name: &str, bytes: &[u8], mode: u32| {
            let path = work.join(name);
            std::fs::write(&path, bytes).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            #[cfg(not(unix))]
            let _ = mode;
        };
        let mut json = serde_json::to_value(certificate("EUCC", "EUCC-2")).unwrap();
        let text = serde_json::to_string(&json).unwrap();
        write("cert.json", text.as_bytes(), 0o644);
        write("truncated.json", &text.as_bytes()[..text.len() / 2], 0o644);
        json["colour"] = "red".into();
        write(
            "unknown-field.json",
            serde_json::to_string(&json).unwrap().as_bytes(),
            0o644,
        );
        let key = std::fs::read(&cb.key_file).unwrap();
        write("readable.key", &key, 0o644);
        write("garbage.key", &garbage(64), 0o600);
        write("vkey-as.key", format!("{}\n", cb.vkey).as_bytes(), 0o600);
        let other_log = SigningKey::from_seed("other.example/log", KeyType::Ed25519, &[7; 32]);
        write(
            "other-log.vkey",
            format!("{}\n", other_log.unwrap().verifier_key()).as_bytes(),
            0o644,
        );
        let bundle = log.work_path("eucc.bundle");
        let made = log.cli(&[
            "bundle", "--scheme", "EUCC", "--id", "EUCC-1", "--out", &bundle,
        ]);
        certlog_tests::success(&made);
        let bytes = std::fs::read(&bundle).unwrap();
        write("truncated.bundle", &bytes[..bytes.len() - 1], 0o644);
        write("empty.bundle", b"", 0o644);
        write("checkpoint.txt", witnessed.to_text().as_bytes(), 0o644);
        write("garbage.state", &garbage(100), 0o644);

        Fixture {
            log,
            witness,
            cb,
            issued: (issued, receipt.index),
            witnessed,
            registration,
            last_map_head,
        }
    }

    /// `certlog --server URL --log-vkey DIR/log.vkey` and `args`.
    fn certlog(&self, list: &[&str]) -> Request {
        let mut all = args(&[
            "--server",
            &self.log.url(),
            "--log-vkey",
            &self.log.log_vkey_file(),
        ]);
        all.extend(args(list));
        Request::Cli(Bin::Certlog, all)
    }

    async fn send(&self, request: &Request) -> (Status, String) {
        match request {
            Request::Grpc {
                path,
                content_type,
                headers,
                body,
            } => send_grpc(self.log.addr(), path, content_type, headers, body.clone()).await,
            Request::Tcp(bytes) => http_answer(&exchange(self.log.addr(), bytes)),
            Request::Http2(bytes) => {
                h2_answer(&exchange(self.log.addr(), &[H2_PREFACE, bytes].concat()))
            }
            Request::Witness(bytes) => http_answer(&exchange(self.witness.addr(), bytes)),
            Request::Cli(bin, list) => {
                let output = bin
                    .command()
                    .args(list)
                    .current_dir(self.log.work_dir())
                    .output()
                    .unwrap();
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                (Status::Exit(output.status.code().unwrap_or(-1)), text)
            }
        }
    }

    /// Why the log or the witness is not as it was before a case, if it is not.
    async fn harm(&self, before: &SignedCheckpoint) -> Option<String> {
        for service in ["", "certlog.v1.CertificateLog"] {
            let health = self.log.health(service).await;
            if health != ServingStatus::Serving as i32 {
                return Some(format!("health of {service:?} is {health}"));
            }
        }
        let after = self.log.checkpoint();
        if (after.checkpoint.size, after.checkpoint.root)
            != (before.checkpoint.size, before.checkpoint.root)
        {
            return Some(format!(
                "the tree changed from size {} to {}",
                before.checkpoint.size, after.checkpoint.size
            ));
        }
        let stderr = self.log.stderr();
        if stderr.contains("panicked") {
            return Some(format!("certlogd panicked:\n{stderr}"));
        }
        // The witness still knows its size, and says so to a client that does not.
        let probe = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: self.witnessed.to_text().into_bytes(),
        };
        let answer = self.witness.add_checkpoint(&probe.to_bytes());
        let size = certlog_log::witness::parse_size_body(&answer.text());
        if answer.status != 409 || size != Some(self.witnessed.checkpoint.size) {
            return Some(format!(
                "the witness answered {} {:?}",
                answer.status,
                answer.text()
            ));
        }
        None
    }
}

// ---- the matrix ----

fn cases(f: &Fixture) -> Vec<Case> {
    use Status::{Exit, GoAway, Grpc, Http};
    let size = f.witnessed.checkpoint.size;
    let cb = f.cb.signing_key();
    let operator = f.log.operator_key();
    let (issued, issued_index) = (&f.issued.0, f.issued.1);
    let new_entry = || issue_entry(&cb, certificate("EUCC", "EUCC-NEW"));
    let statement_of = |c| {
        Statement {
            body: Some(statement::Body::CertificateIssued(c)),
        }
        .encode_to_vec()
    };
    let registration = |vkey: String| {
        signed_entry(
            &operator,
            statement::Body::CertifierRegistered(CertifierRegistered {
                vkey,
                schemes: vec!["EUCC".into()],
                registered_at: 1_790_000_000,
            }),
        )
    };
    let witness_vkey = SigningKey::from_seed("w.example", KeyType::CosignatureV1, &[3; 32])
        .unwrap()
        .verifier_key()
        .to_string();
    let stranger = SigningKey::from_seed("nobody.example", KeyType::Ed25519, &[9; 32]).unwrap();
    let u64_max = u64::MAX.to_string();
    let too_large = "Error, decoded message length too large";
    let oversized = SubmitRequest {
        entry: vec![1; 300_000],
        wait: true,
    };
    let mut compressed = frame(&GetCheckpointRequest { tree_size: 0 }.encode_to_vec());
    compressed[0] = 1;
    let mut bad_flag = frame(&[]);
    bad_flag[0] = 7;
    let mut truncated_request = SubmitRequest {
        entry: issued.clone(),
        wait: true,
    }
    .encode_to_vec();
    truncated_request.truncate(truncated_request.len() / 2);
    let mut truncated_frame = frame(&new_entry());
    truncated_frame.truncate(truncated_frame.len() / 2);
    let wrong_ct = |ct, body| grpc_with(CHECKPOINT, ct, vec![], body);
    let witnessed_text = f.witnessed.to_text();
    let proof_lines = format!(
        "old {size}\n{}\n{witnessed_text}",
        format!("{}\n", Hash([0; 32]).to_base64()).repeat(64)
    );
    let verify_bundle = |file: &str, extra: &[&str]| {
        let mut list = args(&[
            "bundle",
            file,
            "--log-vkey",
            &f.log.log_vkey_file(),
            "--scheme",
            "EUCC",
            "--id",
            "EUCC-1",
        ]);
        list.extend(args(extra));
        Request::Cli(Bin::CertlogVerify, list)
    };

    vec![
        // gRPC: the transport and the messages.
        case(
            "grpc: Admin call over the 256 KiB message limit",
            grpc(REGISTER, &oversized),
            Grpc(Code::ResourceExhausted),
            format!("{too_large}: found 300006 bytes, the limit is: 262144 bytes"),
        ),
        case(
            "grpc: read call over the message limit",
            grpc(
                STATUS,
                &GetStatusRequest {
                    scheme: "E".repeat(300_000),
                    certificate_id: "1".into(),
                },
            ),
            Grpc(Code::ResourceExhausted),
            too_large,
        ),
        case(
            "grpc: a message of exactly 262,144 bytes passes the transport",
            grpc(SUBMIT, &submit_request_of(262_144)),
            Grpc(Code::InvalidArgument),
            "entry of 262140 bytes is over the 65,535-byte limit",
        ),
        case(
            "grpc: a message of 262,145 bytes does not",
            grpc(SUBMIT, &submit_request_of(262_145)),
            Grpc(Code::ResourceExhausted),
            "found 262145 bytes",
        ),
        case(
            "grpc: SubmitBatch of no entries",
            grpc(SUBMIT_BATCH, &SubmitBatchRequest { entries: vec![] }),
            Grpc(Code::InvalidArgument),
            "SubmitBatch takes 1 to 1024 entries, not 0",
        ),
        case(
            "grpc: SubmitBatch of 1,025 entries",
            grpc(
                SUBMIT_BATCH,
                &SubmitBatchRequest {
                    entries: vec![new_entry(); 1025],
                },
            ),
            Grpc(Code::InvalidArgument),
            "SubmitBatch takes 1 to 1024 entries, not 1025",
        ),
        case(
            "grpc: SubmitBatch over the message limit",
            grpc(
                SUBMIT_BATCH,
                &SubmitBatchRequest {
                    entries: vec![vec![0x0a; 60_000]; 5],
                },
            ),
            Grpc(Code::ResourceExhausted),
            too_large,
        ),
        case(
            "grpc: an entry of 65,536 bytes to the Admin service",
            register(vec![0x0a; 65_536]),
            Grpc(Code::InvalidArgument),
            "entry of 65536 bytes is over the 65,535-byte limit",
        ),
        // Malformed requests are INTERNAL: gRPC's status code table ("error parsing request
        // proto"), what tonic, grpc-go and grpc-java answer.
        case(
            "grpc: SubmitRequest cut in the middle of its entry",
            grpc_body(SUBMIT, frame(&truncated_request)),
            Grpc(Code::Internal),
            "SubmitRequest.entry: buffer underflow",
        ),
        case(
            "grpc: frame shorter than its length prefix",
            grpc_body(SUBMIT, truncated_frame),
            Grpc(Code::Internal),
            "Unexpected EOF decoding stream",
        ),
        case(
            "grpc: no message at all",
            grpc_body(CHECKPOINT, vec![]),
            Grpc(Code::Internal),
            "Missing request message",
        ),
        case(
            "grpc: compressed flag without grpc-encoding",
            grpc_body(CHECKPOINT, compressed.clone()),
            Grpc(Code::Internal),
            "compressed-flag but no grpc-encoding was specified",
        ),
        case(
            "grpc: gzip, which certlogd does not take",
            grpc_with(
                CHECKPOINT,
                "application/grpc",
                vec![("grpc-encoding", "gzip")],
                compressed,
            ),
            Grpc(Code::Unimplemented),
            "compressed with `gzip` which isn't supported",
        ),
        case(
            "grpc: frame flag 7",
            grpc_body(CHECKPOINT, bad_flag),
            Grpc(Code::Internal),
            "invalid compression flag: 7",
        ),
        case(
            "grpc: invalid UTF-8 in a request string (GetStatus.scheme)",
            grpc_body(STATUS, frame(&[0x0a, 2, 0xff, 0xfe])),
            Grpc(Code::Internal),
            "GetStatusRequest.scheme: invalid string value: data is not UTF-8 encoded",
        ),
        case(
            "grpc: invalid UTF-8 in a nested request string (GetProofBundle)",
            grpc_body(BUNDLE, frame(&[0x0a, 4, 0x0a, 2, 0xc3, 0x28])),
            Grpc(Code::Internal),
            "CertificateRef.scheme",
        ),
        case(
            "grpc: content type application/json",
            wrong_ct("application/json", b"{\"tree_size\": 0}".to_vec()),
            Http(415),
            "must be application/grpc (protobuf), not \"application/json\"",
        ),
        case(
            "grpc: content type text/plain with a valid frame",
            wrong_ct(
                "text/plain",
                frame(&GetCheckpointRequest::default().encode_to_vec()),
            ),
            Http(415),
            "not \"text/plain\"",
        ),
        case(
            "grpc: content type application/grpc+json",
            wrong_ct("application/grpc+json", frame(b"{}")),
            Http(415),
            "not \"application/grpc+json\"",
        ),
        case(
            "grpc: HTTP/1.1 GET of a method, no content type",
            http1("GET", SUBMIT),
            Http(415),
            "/certlog.v1.CertificateLog/Submit is a gRPC method",
        ),
        case(
            "grpc: unknown method of a known service",
            grpc_body("/certlog.v1.CertificateLog/Delete", frame(&[])),
            Grpc(Code::Unimplemented),
            "no method /certlog.v1.CertificateLog/Delete",
        ),
        case(
            "grpc: unknown service",
            grpc_body("/certlog.v2.CertificateLog/Submit", frame(&[])),
            Grpc(Code::Unimplemented),
            "no method /certlog.v2.CertificateLog/Submit",
        ),
        // Entries: cut, not UTF-8, forged, replayed.
        case(
            "entry: a valid entry cut short",
            submit(new_entry()[..new_entry().len() - 10].to_vec()),
            Grpc(Code::InvalidArgument),
            "not a valid certlog.v1.Entry",
        ),
        case(
            "entry: a statement cut short, validly signed",
            submit(signed_bytes(&cb, {
                let s = statement_of(certificate("EUCC", "EUCC-CUT"));
                s[..s.len() / 2].to_vec()
            })),
            Grpc(Code::InvalidArgument),
            "Statement.body: buffer underflow",
        ),
        case(
            "entry: invalid UTF-8 in the signer's name",
            submit(corrupt(&new_entry(), b"cb.example", 0, 0xff)),
            Grpc(Code::InvalidArgument),
            "SignedStatement.signer: Entry.body: invalid string value",
        ),
        case(
            "entry: invalid UTF-8 in a certificate ID, validly signed",
            submit(signed_bytes(
                &cb,
                corrupt(
                    &statement_of(certificate("EUCC", "EUCC-UTF8")),
                    b"EUCC-UTF8",
                    8,
                    0xc3,
                ),
            )),
            Grpc(Code::InvalidArgument),
            "Certificate.certificate_id",
        ),
        case(
            "entry: the key ID changed, the signature intact",
            submit(edit_signed(&new_entry(), |s| s.key_id ^= 1)),
            Grpc(Code::PermissionDenied),
            format!(
                "signed with key {:08x}, not its registered key",
                cb.key_id() ^ 1
            ),
        ),
        case(
            "entry: a signature of 128 bytes",
            submit(edit_signed(&new_entry(), |s| {
                let twice = s.signature.repeat(2);
                s.signature = twice;
            })),
            Grpc(Code::Unauthenticated),
            "does not verify",
        ),
        case(
            "entry: signed by the operator's key, naming the certifier",
            submit(edit_signed(
                &issue_entry(&operator, certificate("EUCC", "EUCC-OP")),
                |s| {
                    s.signer = cb.name().into();
                    s.key_id = cb.key_id();
                },
            )),
            Grpc(Code::Unauthenticated),
            "statement signature by cb.example",
        ),
        case(
            "entry: the operator issuing a certificate",
            submit(issue_entry(&operator, certificate("EUCC", "EUCC-OP"))),
            Grpc(Code::PermissionDenied),
            "unknown certifier \"certlog.local/log/operator\"",
        ),
        case(
            "entry: a status change by an unknown certifier",
            submit(signed_entry(
                &stranger,
                statement::Body::StatusChanged(StatusChanged {
                    scheme: "EUCC".into(),
                    certificate_id: "EUCC-1".into(),
                    issued_index,
                    previous_index: issued_index,
                    status: CertificateStatus::Revoked.into(),
                    reason: "takeover".into(),
                    effective_at: 1_800_000_000,
                }),
            )),
            Grpc(Code::PermissionDenied),
            "unknown certifier \"nobody.example\"",
        ),
        case(
            "entry: no signer",
            submit(edit_signed(&new_entry(), |s| s.signer.clear())),
            Grpc(Code::PermissionDenied),
            "unknown certifier \"\"",
        ),
        case(
            "entry: the log's own last map head, replayed",
            submit(f.last_map_head.clone()),
            Grpc(Code::InvalidArgument),
            "map heads are written by the log alone",
        ),
        case(
            "admin: registering a witness (cosignature) key",
            register(registration(witness_vkey.clone())),
            Grpc(Code::InvalidArgument),
            "certifier vkey: key w.example has type 0x04, 0x01 needed",
        ),
        case(
            "admin: registering a vkey that is no key",
            register(registration("cb2.example+00000000+garbage".into())),
            Grpc(Code::InvalidArgument),
            "certifier vkey: key material is not base64",
        ),
        case(
            "replay: the first registration's bytes again (idempotent)",
            register(f.registration.clone()),
            Grpc(Code::Ok),
            "",
        ),
        // Reads: absurd sizes, indexes and ranges.
        case(
            "read: checkpoint of size u64::MAX",
            grpc(
                CHECKPOINT,
                &GetCheckpointRequest {
                    tree_size: u64::MAX,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("tree size {u64_max} is beyond the log's {size}"),
        ),
        case(
            "read: checkpoint of a size the log never signed",
            grpc(CHECKPOINT, &GetCheckpointRequest { tree_size: 1 }),
            Grpc(Code::NotFound),
            "the log signed no checkpoint of size 1",
        ),
        case(
            "read: consistency from u64::MAX",
            grpc(
                CONSISTENCY,
                &GetConsistencyProofRequest {
                    size1: u64::MAX,
                    size2: 0,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("no consistency proof from size {u64_max} to the smaller size {size}"),
        ),
        case(
            "read: consistency to u64::MAX",
            grpc(
                CONSISTENCY,
                &GetConsistencyProofRequest {
                    size1: 1,
                    size2: u64::MAX,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("tree size {u64_max} is beyond the log's {size}"),
        ),
        case(
            "read: inclusion in a tree of u64::MAX",
            grpc(
                INCLUSION,
                &GetInclusionProofRequest {
                    leaf: Some(Leaf::Index(0)),
                    tree_size: u64::MAX,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("tree size {u64_max} is beyond"),
        ),
        case(
            "read: inclusion of no leaf",
            grpc(INCLUSION, &GetInclusionProofRequest::default()),
            Grpc(Code::InvalidArgument),
            "give an index or a leaf_hash",
        ),
        case(
            "read: inclusion of a 31-byte leaf hash",
            grpc(
                INCLUSION,
                &GetInclusionProofRequest {
                    leaf: Some(Leaf::LeafHash(vec![0; 31])),
                    tree_size: 0,
                },
            ),
            Grpc(Code::InvalidArgument),
            "leaf_hash must be 32 bytes",
        ),
        case(
            "read: entries with start after end",
            grpc(ENTRIES, &GetEntriesRequest { start: 3, end: 1 }),
            Grpc(Code::OutOfRange),
            "entries 3..1 are not a non-empty range",
        ),
        case(
            "read: entries u64::MAX..u64::MAX",
            grpc(
                ENTRIES,
                &GetEntriesRequest {
                    start: u64::MAX,
                    end: u64::MAX,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("entries {u64_max}..{u64_max}"),
        ),
        case(
            "read: bundle with since beyond the tree",
            grpc(
                BUNDLE,
                &GetProofBundleRequest {
                    certificate: Some(BundleTarget::Id(CertificateRef {
                        scheme: "EUCC".into(),
                        certificate_id: "EUCC-1".into(),
                    })),
                    since: u64::MAX,
                },
            ),
            Grpc(Code::OutOfRange),
            format!("since {u64_max} is beyond the log's tree size {size}"),
        ),
        case(
            "read: bundle of a 5-byte firmware digest",
            grpc(
                BUNDLE,
                &GetProofBundleRequest {
                    certificate: Some(BundleTarget::FirmwareSha256(vec![1; 5])),
                    since: 0,
                },
            ),
            Grpc(Code::InvalidArgument),
            "firmware_sha256 must be 32 bytes",
        ),
        case(
            "read: bundle of nothing",
            grpc(BUNDLE, &GetProofBundleRequest::default()),
            Grpc(Code::InvalidArgument),
            "give a certificate ID or a firmware digest",
        ),
        case(
            "read: status with an empty scheme and ID",
            grpc(STATUS, &GetStatusRequest::default()),
            Grpc(Code::NotFound),
            "certificate / is not in the log",
        ),
        // HTTP: tile paths beyond u64, encoded traversal, methods.
        case(
            "http: tile index x999/... beyond u64",
            http1("GET", "/tile/0/x999/x999/x999/x999/x999/x999/x999/999"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: tile index of 20 digits",
            http1("GET", "/tile/0/18446744073709551616"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: hash tile u64::MAX",
            http1("GET", "/tile/0/x018/x446/x744/x073/x709/x551/615"),
            Http(404),
            "is not in the log at its published size",
        ),
        case(
            "http: partial entry bundle u64::MAX",
            http1(
                "GET",
                "/tile/entries/x018/x446/x744/x073/x709/x551/615.p/255",
            ),
            Http(404),
            "is not in the log at its published size",
        ),
        case(
            "http: encoded slashes, /tile/..%2f..%2fetc%2fpasswd",
            http1("GET", "/tile/..%2f..%2fetc%2fpasswd"),
            Http(400),
            "invalid tile level in \"tile/../../etc/passwd\"",
        ),
        case(
            "http: encoded slashes after an index",
            http1("GET", "/tile/0/000%2f..%2f..%2fcheckpoint"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: /tile/../checkpoint",
            http1("GET", "/tile/../checkpoint"),
            Http(400),
            "invalid tile level",
        ),
        case(
            "http: double-encoded dots",
            http1("GET", "/tile/0/%252e%252e/000"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: backslashes",
            http1("GET", "/tile/0/..\\..\\000"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: an encoded NUL",
            http1("GET", "/tile/0/000%00"),
            Http(400),
            "invalid tile index",
        ),
        case(
            "http: POST /checkpoint",
            http1("POST", "/checkpoint"),
            Http(405),
            "method POST is not allowed on /checkpoint",
        ),
        case(
            "http: DELETE of a tile",
            http1("DELETE", "/tile/0/000.p/1"),
            Http(405),
            "allow: GET,HEAD",
        ),
        case(
            "http: PUT /metrics",
            http1("PUT", "/metrics"),
            Http(405),
            "method PUT is not allowed on /metrics",
        ),
        case(
            "http: a method that does not exist",
            http1("BREW", "/checkpoint"),
            Http(405),
            "method BREW is not allowed",
        ),
        case(
            "http: a header of 1 MiB",
            Request::Tcp(
                format!(
                    "GET /checkpoint HTTP/1.1\r\nHost: certlog\r\nX-Pad: {}\r\n\r\n",
                    "a".repeat(1 << 20)
                )
                .into_bytes(),
            ),
            Http(431),
            "",
        ),
        case(
            "tcp: 4 KiB of garbage",
            Request::Tcp(garbage(4096)),
            Http(400),
            "",
        ),
        case(
            "tcp: HTTP/9.9",
            Request::Tcp(b"GET /checkpoint HTTP/9.9\r\nHost: certlog\r\n\r\n".to_vec()),
            Http(400),
            "",
        ),
        case(
            "tcp: a broken HTTP/2 preface",
            Request::Tcp(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".to_vec()),
            Http(400),
            "",
        ),
        // HTTP/2 frames that break the protocol: the connection ends with a GOAWAY.
        case(
            "h2: a frame longer than the maximum frame size",
            Request::Http2(h2_frame(0x0, 0, 1, &[0; 20_000])),
            GoAway(FRAME_SIZE_ERROR),
            "FRAME_SIZE_ERROR",
        ),
        case(
            "h2: HEADERS on stream 0",
            Request::Http2(h2_frame(0x1, 0x4, 0, &[0x82])),
            GoAway(PROTOCOL_ERROR),
            "PROTOCOL_ERROR",
        ),
        case(
            "h2: a WINDOW_UPDATE of 0",
            Request::Http2(h2_frame(0x8, 0, 0, &[0; 4])),
            GoAway(PROTOCOL_ERROR),
            "PROTOCOL_ERROR",
        ),
        // RFC 7541 makes this a COMPRESSION_ERROR; h2 (the HTTP/2 library under hyper) answers
        // PROTOCOL_ERROR to every HPACK decoding error. Either ends the connection.
        case(
            "h2: an HPACK index that does not exist",
            Request::Http2(h2_frame(0x1, 0x5, 1, &[0xff, 0xff, 0x7f])),
            GoAway(PROTOCOL_ERROR),
            "PROTOCOL_ERROR",
        ),
        case(
            "h2: 4 KiB of garbage after the preface",
            Request::Http2(garbage(4096)),
            GoAway(FRAME_SIZE_ERROR),
            "FRAME_SIZE_ERROR",
        ),
        // The witness.
        case(
            "witness: 4 KiB of garbage",
            Request::Witness(garbage(4096)),
            Http(400),
            "",
        ),
        case(
            "witness: a checkpoint that is not UTF-8",
            witness_post("/add-checkpoint", b"old 0\n\n\xff\xfe\n"),
            Http(400),
            "note is not valid UTF-8",
        ),
        case(
            "witness: an old size beyond u64",
            witness_post(
                "/add-checkpoint",
                format!("old 99999999999999999999\n\n{witnessed_text}").as_bytes(),
            ),
            Http(400),
            "not \"old 99999999999999999999\"",
        ),
        case(
            "witness: an empty body",
            witness_post("/add-checkpoint", b""),
            Http(400),
            "the first line must be \"old <size>\"",
        ),
        case(
            "witness: 64 proof lines",
            witness_post("/add-checkpoint", proof_lines.as_bytes()),
            Http(400),
            "more than 63 consistency proof lines",
        ),
        case(
            "witness: a dot segment in the path",
            witness_post("/add-checkpoint/../add-checkpoint", b""),
            Http(404),
            "no resource /add-checkpoint/../add-checkpoint",
        ),
        // certlog.
        case(
            "certlog: a certificate file cut short",
            f.certlog(&["submit", "truncated.json", "--key", f.cb.key_arg()]),
            Exit(1),
            "truncated.json is not a certificate: EOF while parsing",
        ),
        case(
            "certlog: a certificate with an unknown field",
            f.certlog(&["submit", "unknown-field.json", "--key", f.cb.key_arg()]),
            Exit(1),
            "unknown field `colour`",
        ),
        case(
            "certlog: a private key others may read",
            f.certlog(&["submit", "cert.json", "--key", "readable.key"]),
            Exit(1),
            "readable.key: a private key must be readable by its owner only, but the file's mode is 0644",
        ),
        case(
            "certlog: a key file of garbage",
            f.certlog(&["submit", "cert.json", "--key", "garbage.key"]),
            Exit(1),
            "garbage.key: stream did not contain valid UTF-8",
        ),
        case(
            "certlog: a verifier key given as the private key",
            f.certlog(&["submit", "cert.json", "--key", "vkey-as.key"]),
            Exit(1),
            "vkey-as.key: malformed key: expected PRIVATE+KEY",
        ),
        case(
            "certlog: registering a witness vkey as a certifier",
            f.certlog(&[
                "certifier",
                "register",
                "--operator-key",
                &f.log.operator_key_file(),
                "--name",
                "w.example",
                "--vkey",
                &witness_vkey,
                "--scheme",
                "EUCC",
            ]),
            Exit(1),
            "has type 0x04, 0x01 needed",
        ),
        case(
            "certlog: --log-vkey of garbage",
            Request::Cli(
                Bin::Certlog,
                args(&[
                    "--server",
                    &f.log.url(),
                    "--log-vkey",
                    "garbage",
                    "checkpoint",
                ]),
            ),
            Exit(1),
            "--log-vkey",
        ),
        case(
            "certlog: --log-vkey of another log",
            Request::Cli(
                Bin::Certlog,
                args(&[
                    "--server",
                    &f.log.url(),
                    "--log-vkey",
                    "other-log.vkey",
                    "checkpoint",
                ]),
            ),
            Exit(1),
            "the log's answer does not verify",
        ),
        case(
            "certlog: --server that is no URL",
            Request::Cli(Bin::Certlog, args(&["--server", "not a url", "checkpoint"])),
            Exit(1),
            "invalid server URL \"not a url\"",
        ),
        case(
            "certlog: checkpoint --size -1",
            f.certlog(&["checkpoint", "--size", "-1"]),
            Exit(2),
            "unexpected argument '-1'",
        ),
        case(
            "certlog: get --index u64::MAX",
            f.certlog(&["get", "--index", &u64_max]),
            Exit(1),
            format!("--index {u64_max} is beyond any tree size"),
        ),
        case(
            "certlog: bundle --firmware-sha256 that is not hex",
            f.certlog(&["bundle", "--firmware-sha256", "zz", "--out", "fw.bundle"]),
            Exit(1),
            "--firmware-sha256 \"zz\" is not 64 hex digits",
        ),
        case(
            "certlog: keygen over an existing key",
            f.certlog(&["keygen", "--name", "cb.example", "--out", f.cb.key_arg()]),
            Exit(1),
            "File exists",
        ),
        case(
            "certlog: audit with a state file of garbage",
            f.certlog(&["audit", "--state", "garbage.state"]),
            Exit(2),
            "garbage.state",
        ),
        // certlog-verify.
        case(
            "certlog-verify: a bundle cut by one byte",
            verify_bundle("truncated.bundle", &[]),
            Exit(2),
            "not a proof bundle: failed to decode Protobuf message",
        ),
        case(
            "certlog-verify: an empty bundle file",
            verify_bundle("empty.bundle", &[]),
            Exit(2),
            "not a proof bundle: there are no bytes at all",
        ),
        case(
            "certlog-verify: a checkpoint given as a bundle",
            verify_bundle("checkpoint.txt", &[]),
            Exit(2),
            "not a proof bundle",
        ),
        case(
            "certlog-verify: a witness vkey as the log's",
            Request::Cli(
                Bin::CertlogVerify,
                args(&[
                    "bundle",
                    "eucc.bundle",
                    "--log-vkey",
                    &witness_vkey,
                    "--scheme",
                    "EUCC",
                    "--id",
                    "EUCC-1",
                ]),
            ),
            Exit(2),
            "--log-vkey",
        ),
        case(
            "certlog-verify: a bundle without the certificate asked about",
            Request::Cli(
                Bin::CertlogVerify,
                args(&[
                    "bundle",
                    "eucc.bundle",
                    "--log-vkey",
                    &f.log.log_vkey_file(),
                ]),
            ),
            Exit(2),
            "--scheme <SCHEME>",
        ),
        case(
            "certlog-verify: the log's vkey as a witness's",
            verify_bundle("eucc.bundle", &["--witness", &f.log.log_vkey_file()]),
            Exit(2),
            "--witness",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_input_matrix() {
    let f = Fixture::new().await;
    let size = f.witnessed.checkpoint.size;
    let cases = cases(&f);
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "two cases named {:?}", case.name);
    }

    let mut failures = Vec::new();
    for case in &cases {
        let before = f.log.checkpoint();
        let (status, message) = f.send(&case.request).await;
        let verdict = if status != case.status {
            Some(format!("expected {:?}, got {status:?}", case.status))
        } else if !message.contains(&case.needle) {
            Some(format!("the message does not say {:?}", case.needle))
        } else {
            f.harm(&before).await
        };
        let mut shown = message.clone();
        shown.truncate(300);
        match verdict {
            None => println!("ok   {:<64} {:?} {shown:?}", case.name, case.status),
            Some(why) => {
                println!("FAIL {:<64} {why}: {shown:?}", case.name);
                failures.push(format!("{}: {why}\n  message: {shown:?}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 30);

    // The log still works: a valid submission is appended.
    let receipt = f
        .log
        .client()
        .await
        .submit(
            issue_entry(&f.cb.signing_key(), certificate("EUCC", "EUCC-AFTER")),
            true,
        )
        .await
        .unwrap();
    assert_eq!(receipt.index, size);
}

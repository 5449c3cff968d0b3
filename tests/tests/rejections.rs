//! Every rule of the log, broken on purpose against the real certlogd: each refusal has its
//! gRPC code and a message naming the cause, and leaves the tree as it was (same size, same
//! root, and the refused entry nowhere in the log).
//!
//! Entries are signed here with `certlog_verifier::entry` directly, so that the client
//! library's own checks (which would refuse most of them first) are bypassed and the server's
//! rules are what is tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_client::{Client, ClientError, Receipt};
use certlog_tests::{
    Certifier, Log, assert_refused, certificate, describe, example, issue_entry, refusal,
    signed_entry, success,
};
use certlog_verifier::merkle::leaf_hash;
use certlog_verifier::proto::{
    CertificateStatus, CertifierRegistered, CertifierRetired, Entry, MapHead, Product,
    SignedStatement, Statement, StatusChanged, entry as entry_pb, statement,
};
use certlog_verifier::{KeyType, SigningKey, entry};
use prost::Message as _;
use tonic::Code;

/// The gRPC call an entry goes to.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `CertificateLog.Submit`.
    Submit,
    /// `Admin.RegisterCertifier`.
    Register,
    /// `Admin.RetireCertifier`.
    Retire,
    /// `Admin.ChangeStatus`.
    ChangeStatus,
    /// `Admin.RotateCertifierKey`.
    Rotate,
}

async fn send(client: &mut Client, via: Via, entry: Vec<u8>) -> Result<Receipt, ClientError> {
    match via {
        Via::Submit => client.submit(entry, true).await,
        Via::Register => client.register_certifier(entry, true).await,
        Via::Retire => client.retire_certifier(entry, true).await,
        Via::ChangeStatus => client.operator_change_status(entry, true).await,
        Via::Rotate => client.rotate_certifier_key(entry, true).await,
    }
}

/// A log with a certifier registered for EUCC, and a client.
struct Setup {
    log: Log,
    client: Client,
    cb: Certifier,
}

impl Setup {
    async fn new() -> Setup {
        let log = Log::start();
        let cb = log.certifier("cb.example", &["EUCC"]);
        let client = log.client().await;
        Setup { log, client, cb }
    }

    /// Sends an entry that the log must refuse with `code` and a message holding `needle`;
    /// checks that the tree did not change and the entry is not in the log.
    async fn refused(&mut self, via: Via, entry: Vec<u8>, code: Code, needle: &str) {
        let before = self.log.checkpoint().checkpoint;
        let leaf = leaf_hash(&entry);
        assert_refused(send(&mut self.client, via, entry).await, code, needle);
        let after = self.log.checkpoint().checkpoint;
        assert_eq!(
            (after.size, after.root),
            (before.size, before.root),
            "a refused entry changed the tree"
        );
        assert_refused(
            self.client.inclusion_proof(Err(leaf), 0).await,
            Code::NotFound,
            "no entry with leaf hash",
        );
    }

    /// Sends an entry that the log must accept; returns its index.
    async fn accepted(&mut self, via: Via, entry: Vec<u8>) -> u64 {
        let receipt = send(&mut self.client, via, entry).await.unwrap();
        assert!(!receipt.duplicate);
        receipt.index
    }
}

fn status_change(
    certificate_id: &str,
    issued_index: u64,
    previous_index: u64,
    status: CertificateStatus,
    reason: &str,
) -> statement::Body {
    statement::Body::StatusChanged(StatusChanged {
        scheme: "EUCC".into(),
        certificate_id: certificate_id.into(),
        issued_index,
        previous_index,
        status: status.into(),
        reason: reason.into(),
        effective_at: 1_800_000_000,
    })
}

fn registration(certifier: &SigningKey, schemes: &[&str]) -> statement::Body {
    statement::Body::CertifierRegistered(CertifierRegistered {
        vkey: certifier.verifier_key().to_string(),
        schemes: schemes.iter().map(|s| s.to_string()).collect(),
        registered_at: 1_790_000_000,
    })
}

fn key(name: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, KeyType::Ed25519, &[seed; 32]).unwrap()
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

#[tokio::test]
async fn certifier_registry_rules() {
    let mut s = Setup::new().await;

    // A key the log never heard of.
    let stranger = key("stranger.example", 1);
    s.refused(
        Via::Submit,
        issue_entry(&stranger, certificate("EUCC", "EUCC-1")),
        Code::PermissionDenied,
        "unknown certifier \"stranger.example\"",
    )
    .await;

    // A registered certifier's name with another key.
    let impostor = key("cb.example", 2);
    s.refused(
        Via::Submit,
        issue_entry(&impostor, certificate("EUCC", "EUCC-1")),
        Code::PermissionDenied,
        "not its registered key",
    )
    .await;

    // A scheme the certifier is not registered for.
    let cb = s.cb.signing_key();
    s.refused(
        Via::Submit,
        issue_entry(&cb, certificate("Matter", "CSA-1")),
        Code::PermissionDenied,
        "may not publish under scheme \"Matter\"",
    )
    .await;

    // Registrations are the operator's alone: not a certifier's, not another key named like
    // the operator's.
    let newcomer = key("newcomer.example", 3);
    s.refused(
        Via::Register,
        signed_entry(&cb, registration(&newcomer, &["EUCC"])),
        Code::PermissionDenied,
        "must be signed by the operator",
    )
    .await;
    let operator = s.log.operator_key();
    let fake_operator = key(operator.name(), 4);
    s.refused(
        Via::Register,
        signed_entry(&fake_operator, registration(&newcomer, &["EUCC"])),
        Code::PermissionDenied,
        "must be signed by the operator",
    )
    .await;
    s.refused(
        Via::Retire,
        signed_entry(
            &cb,
            statement::Body::CertifierRetired(CertifierRetired {
                name: "cb.example".into(),
                reason: "self-retirement".into(),
                retired_at: 1_790_000_000,
                compromised_since: 0,
            }),
        ),
        Code::PermissionDenied,
        "must be signed by the operator",
    )
    .await;

    // A name registered twice.
    s.refused(
        Via::Register,
        signed_entry(&operator, registration(&impostor, &["EUCC"])),
        Code::AlreadyExists,
        "certifier \"cb.example\" is already registered",
    )
    .await;

    // The certifier publishes, then is retired: it can publish nothing more, and cannot come back.
    s.accepted(Via::Submit, issue_entry(&cb, certificate("EUCC", "EUCC-2")))
        .await;
    let retired = s.log.cli_json(&[
        "certifier",
        "retire",
        "--operator-key",
        &s.log.operator_key_file(),
        "--name",
        "cb.example",
        "--reason",
        "accreditation withdrawn",
        "--wait",
    ]);
    assert_eq!(retired["duplicate"], false);
    s.refused(
        Via::Submit,
        issue_entry(&cb, certificate("EUCC", "EUCC-3")),
        Code::PermissionDenied,
        "certifier \"cb.example\" is retired",
    )
    .await;
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change("EUCC-2", 0, 0, CertificateStatus::Revoked, "retired"),
        ),
        Code::PermissionDenied,
        "is retired",
    )
    .await;
    s.refused(
        Via::Register,
        signed_entry(&operator, registration(&cb, &["EUCC"])),
        Code::AlreadyExists,
        "already registered",
    )
    .await;

    // The CLI reports the refusal and exits non-zero.
    let size = s.log.tree_size();
    let output = s.log.cli(&[
        "submit",
        example("eucc-camera.json").to_str().unwrap(),
        "--key",
        s.cb.key_arg(),
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    assert!(stderr.contains("is retired"), "{stderr}");
    assert_eq!(s.log.tree_size(), size);
}

#[tokio::test]
async fn signatures_must_verify() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();
    let good = issue_entry(&cb, certificate("EUCC", "EUCC-1"));

    // One bit of the signature flipped.
    let flipped = edit_signed(&good, |signed| signed.signature[10] ^= 0x40);
    s.refused(
        Via::Submit,
        flipped,
        Code::Unauthenticated,
        "does not verify",
    )
    .await;

    // Signed by another key, claiming to be the registered certifier.
    let forged = edit_signed(
        &issue_entry(&key("mallory.example", 9), certificate("EUCC", "EUCC-1")),
        |signed| {
            signed.signer = cb.name().into();
            signed.key_id = cb.key_id();
        },
    );
    s.refused(
        Via::Submit,
        forged,
        Code::Unauthenticated,
        "statement signature by cb.example",
    )
    .await;

    // The statement changed after it was signed.
    let edited = edit_signed(&good, |signed| {
        let mut statement = Statement::decode(signed.statement.as_slice()).unwrap();
        let Some(statement::Body::CertificateIssued(c)) = &mut statement.body else {
            panic!("not a certificate");
        };
        c.certificate_id = "EUCC-2".into();
        signed.statement = statement.encode_to_vec();
    });
    s.refused(
        Via::Submit,
        edited,
        Code::Unauthenticated,
        "does not verify",
    )
    .await;

    // A signature cut short, and none at all.
    let short = edit_signed(&good, |signed| {
        signed.signature.pop();
    });
    s.refused(Via::Submit, short, Code::Unauthenticated, "does not verify")
        .await;
    let unsigned = edit_signed(&good, |signed| signed.signature.clear());
    s.refused(
        Via::Submit,
        unsigned,
        Code::Unauthenticated,
        "does not verify",
    )
    .await;

    // An operator statement whose signature does not verify.
    let operator = s.log.operator_key();
    let registration = signed_entry(&operator, registration(&key("new.example", 5), &["EUCC"]));
    let bad = edit_signed(&registration, |signed| signed.signature[0] ^= 1);
    s.refused(Via::Register, bad, Code::Unauthenticated, "does not verify")
        .await;

    // The untouched entry is accepted.
    s.accepted(Via::Submit, good).await;
}

#[tokio::test]
async fn certificates_are_checked_by_the_log() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();

    type Edit = fn(&mut certlog_verifier::proto::Certificate);
    let missing: [(&str, Edit); 7] = [
        ("certificate_id", |c| c.certificate_id.clear()),
        ("scheme", |c| c.scheme.clear()),
        ("product", |c| c.product = None),
        ("product.vendor", |c| {
            c.product.as_mut().unwrap().vendor.clear();
        }),
        ("product.name", |c| c.product.as_mut().unwrap().name.clear()),
        ("issued_at", |c| c.issued_at = 0),
        ("not_after", |c| c.not_after = 0),
    ];
    for (field, edit) in missing {
        let mut c = certificate("EUCC", "EUCC-1");
        edit(&mut c);
        let needle = format!("missing required field {field}");
        s.refused(
            Via::Submit,
            issue_entry(&cb, c),
            Code::InvalidArgument,
            &needle,
        )
        .await;
    }

    // Dates out of order.
    let mut c = certificate("EUCC", "EUCC-1");
    c.not_after = c.issued_at;
    s.refused(
        Via::Submit,
        issue_entry(&cb, c),
        Code::InvalidArgument,
        "not_after (1790000000) must be after issued_at (1790000000)",
    )
    .await;
    let mut c = certificate("EUCC", "EUCC-1");
    c.not_before = c.not_after + 1;
    s.refused(
        Via::Submit,
        issue_entry(&cb, c),
        Code::InvalidArgument,
        "must be after not_before",
    )
    .await;

    // Malformed values.
    let mut c = certificate("EUCC", "EUCC-1");
    c.certificate_id = " EUCC-1".into();
    s.refused(
        Via::Submit,
        issue_entry(&cb, c),
        Code::InvalidArgument,
        "field certificate_id contains U+0020, but it may hold only printable ASCII without space",
    )
    .await;

    // Identifiers that would look like another certificate's, and text that hides or reorders
    // what it shows: each refused, naming the field and the character.
    type Lookalike = (Edit, &'static str);
    let lookalikes: [Lookalike; 6] = [
        (
            |c| c.certificate_id.push('\u{200B}'),
            "field certificate_id contains U+200B",
        ),
        (
            |c| c.certificate_id = "EUCC-1\u{0410}".into(),
            "field certificate_id contains U+0410",
        ),
        (
            |c| c.scheme = "EUCC\u{FEFF}".into(),
            "field scheme contains U+FEFF",
        ),
        (
            |c| c.product.as_mut().unwrap().name.push('\u{202E}'),
            "field product.name contains U+202E, a control, format",
        ),
        (
            |c| {
                c.ext.insert("Sbom".into(), "x".into());
            },
            "field ext contains U+0053, but an ext key may hold only",
        ),
        (
            |c| {
                c.ext.insert("sbom".into(), "line\u{2028}break".into());
            },
            "field ext contains U+2028",
        ),
    ];
    for (edit, needle) in lookalikes {
        let mut c = certificate("EUCC", "EUCC-1");
        edit(&mut c);
        s.refused(
            Via::Submit,
            issue_entry(&cb, c),
            Code::InvalidArgument,
            needle,
        )
        .await;
    }
    let reason = status_change("EUCC-1", 1, 1, CertificateStatus::Revoked, "a\u{200D}b");
    s.refused(
        Via::Submit,
        signed_entry(&cb, reason),
        Code::InvalidArgument,
        "field reason contains U+200D",
    )
    .await;
    let mut c = certificate("EUCC", "EUCC-1");
    c.product = Some(Product {
        firmware_digests: vec![certlog_verifier::proto::Digest {
            alg: "sha256".into(),
            digest: vec![0; 31],
        }],
        ..c.product.unwrap()
    });
    s.refused(
        Via::Submit,
        issue_entry(&cb, c),
        Code::InvalidArgument,
        "product.firmware_digests.digest",
    )
    .await;

    // The CLI refuses the bad examples itself, naming the cause, and sends nothing.
    let size = s.log.tree_size();
    for (file, causes) in [
        (
            "bad-dates.json",
            &["bad-dates.json", "not_after", "must be after issued_at"][..],
        ),
        (
            "bad-missing-id.json",
            &[
                "bad-missing-id.json",
                "missing required field certificate_id",
            ][..],
        ),
    ] {
        let output = s.log.cli(&[
            "submit",
            example(file).to_str().unwrap(),
            "--key",
            s.cb.key_arg(),
            "--wait",
        ]);
        assert!(!output.status.success(), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        for cause in causes {
            assert!(stderr.contains(cause), "no {cause:?} in {stderr}");
        }
        // With --json the error is a JSON document on stdout.
        let output = s.log.cli(&[
            "--json",
            "submit",
            example(file).to_str().unwrap(),
            "--key",
            s.cb.key_arg(),
        ]);
        assert!(!output.status.success(), "{}", describe(&output));
        let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(doc["error"].as_str().unwrap().contains(causes[1]), "{doc}");
    }
    assert_eq!(s.log.tree_size(), size);
}

#[tokio::test]
async fn entries_are_at_most_65535_bytes() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();
    // A certificate padded (in `ext`) to an entry of exactly `len` bytes.
    let padded = |id: &str, len: usize| {
        let entry_of = |pad: usize| {
            let mut c = certificate("EUCC", id);
            c.ext.insert("pad".into(), "x".repeat(pad));
            issue_entry(&cb, c)
        };
        let base = entry_of(0).len();
        (len.saturating_sub(base + 32)..len)
            .map(entry_of)
            .find(|e| e.len() == len)
            .unwrap_or_else(|| panic!("no padding gives {len} bytes"))
    };

    let too_large = padded("EUCC-BIG", 65_536);
    s.refused(
        Via::Submit,
        too_large,
        Code::InvalidArgument,
        "entry of 65536 bytes is over the 65,535-byte limit",
    )
    .await;
    let mut much_too_large = padded("EUCC-BIG", 65_536);
    much_too_large.extend(std::iter::repeat_n(0, 100_000));
    s.refused(
        Via::Submit,
        much_too_large,
        Code::InvalidArgument,
        "over the 65,535-byte limit",
    )
    .await;

    // Over the gRPC message limit: refused by the transport, the log unharmed.
    let size = s.log.tree_size();
    let huge = vec![0x0a; 300_000];
    assert_refused(
        s.client.submit(huge, true).await,
        Code::ResourceExhausted,
        "the limit is: 262144 bytes",
    );
    assert_eq!(s.log.tree_size(), size);

    // The largest entry is logged, and served back byte for byte.
    let largest = padded("EUCC-BIG", 65_535);
    let index = s.accepted(Via::Submit, largest.clone()).await;
    let served = s.client.entries(index, index + 1).await.unwrap();
    assert_eq!(served, vec![largest]);
}

#[tokio::test]
async fn a_certificate_is_issued_once_and_resubmissions_are_idempotent() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();

    // Through gRPC: identical bytes are the same entry.
    let first = issue_entry(&cb, certificate("EUCC", "EUCC-1"));
    let receipt = s.client.submit(first.clone(), true).await.unwrap();
    assert!(!receipt.duplicate);
    let size = s.log.tree_size();
    for wait in [false, true] {
        let again = s.client.submit(first.clone(), wait).await.unwrap();
        assert!(again.duplicate, "identical bytes logged twice");
        assert_eq!(again.index, receipt.index);
        assert_eq!(again.leaf_hash, receipt.leaf_hash);
        // With wait, the receipt proves the existing entry (checked by the client library).
        assert_eq!(again.proof.is_some(), wait);
    }
    assert_eq!(s.log.tree_size(), size);
    // The entry is found by its leaf hash.
    let proof = s
        .client
        .inclusion_proof(Err(receipt.leaf_hash), 0)
        .await
        .unwrap();
    assert_eq!(proof.index, receipt.index);

    // Another issuance of the same certificate, with other bytes, is refused.
    let mut other = certificate("EUCC", "EUCC-1");
    other.product.as_mut().unwrap().name = "Another Product".into();
    let needle = format!(
        "certificate EUCC/EUCC-1 was already issued at index {}",
        receipt.index
    );
    s.refused(
        Via::Submit,
        issue_entry(&cb, other),
        Code::AlreadyExists,
        &needle,
    )
    .await;
    // Also by another certifier of the scheme.
    let other_cb = s.log.certifier("other-cb.example", &["EUCC"]);
    s.refused(
        Via::Submit,
        issue_entry(&other_cb.signing_key(), certificate("EUCC", "EUCC-1")),
        Code::AlreadyExists,
        &needle,
    )
    .await;

    // Through the CLI: the same file submitted again is the same entry.
    let camera = example("eucc-camera.json");
    let receipt = s.log.submit(&camera, &s.cb);
    assert_eq!(receipt["duplicate"], false);
    let size = s.log.tree_size();
    let again = s.log.submit(&camera, &s.cb);
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["index"], receipt["index"]);
    assert_eq!(again["leaf_hash"], receipt["leaf_hash"]);
    let text = success(
        &s.log
            .cli(&["submit", camera.to_str().unwrap(), "--key", s.cb.key_arg()]),
    );
    assert!(text.contains("(already logged)"), "{text}");
    assert_eq!(s.log.tree_size(), size);
}

#[tokio::test]
async fn status_changes_follow_the_rules() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();
    let issued = s
        .accepted(Via::Submit, issue_entry(&cb, certificate("EUCC", "EUCC-1")))
        .await;

    // Only the issuer changes a certificate's status: through gRPC and through the CLI.
    let other = s.log.certifier("other-cb.example", &["EUCC"]);
    s.refused(
        Via::Submit,
        signed_entry(
            &other.signing_key(),
            status_change("EUCC-1", issued, issued, CertificateStatus::Revoked, "x"),
        ),
        Code::PermissionDenied,
        "certificate EUCC/EUCC-1 was issued by \"cb.example\", not \"other-cb.example\"",
    )
    .await;
    let size = s.log.tree_size();
    let output = s.log.cli(&[
        "revoke",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-1",
        "--reason",
        "not mine",
        "--key",
        other.key_arg(),
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    assert!(stderr.contains("was issued by"), "{stderr}");
    assert_eq!(s.log.tree_size(), size);

    // A certificate never issued.
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change("EUCC-404", issued, issued, CertificateStatus::Revoked, "x"),
        ),
        Code::NotFound,
        "certificate EUCC/EUCC-404 was never issued",
    )
    .await;
    let output = s.log.cli(&[
        "revoke",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-404",
        "--reason",
        "x",
        "--key",
        s.cb.key_arg(),
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("EUCC/EUCC-404 is not in the log"),
        "{}",
        describe(&output)
    );

    // Malformed changes: no reason, the wrong issuing entry.
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change("EUCC-1", issued, issued, CertificateStatus::Suspended, " "),
        ),
        Code::InvalidArgument,
        "needs a reason",
    )
    .await;
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change(
                "EUCC-1",
                issued + 1,
                issued,
                CertificateStatus::Suspended,
                "x",
            ),
        ),
        Code::InvalidArgument,
        "is not the issuing entry",
    )
    .await;

    // Suspended, then active again.
    let suspension = signed_entry(
        &cb,
        status_change(
            "EUCC-1",
            issued,
            issued,
            CertificateStatus::Suspended,
            "audit",
        ),
    );
    let suspended = s.accepted(Via::Submit, suspension.clone()).await;
    let reinstated = s
        .accepted(
            Via::Submit,
            signed_entry(
                &cb,
                status_change("EUCC-1", issued, suspended, CertificateStatus::Active, "ok"),
            ),
        )
        .await;

    // A replayed suspension: a statement that follows an entry that is no longer the last.
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change("EUCC-1", issued, issued, CertificateStatus::Suspended, "again"),
        ),
        Code::FailedPrecondition,
        &format!(
            "status change follows entry {issued}, but the last entry of this certificate is {reinstated}"
        ),
    )
    .await;
    // The very same bytes again are the logged entry, not a new suspension.
    let size = s.log.tree_size();
    let replay = s.client.submit(suspension, true).await.unwrap();
    assert!(replay.duplicate);
    assert_eq!(replay.index, suspended);
    assert_eq!(s.log.tree_size(), size);
    let (record, indexes) = s.client.status("EUCC", "EUCC-1").await.unwrap();
    assert_eq!(record.status(), CertificateStatus::Active);
    assert_eq!(record.last_change_index, reinstated);
    assert_eq!(indexes, vec![issued, suspended, reinstated]);

    // Active -> active is no transition.
    s.refused(
        Via::Submit,
        signed_entry(
            &cb,
            status_change("EUCC-1", issued, reinstated, CertificateStatus::Active, "x"),
        ),
        Code::FailedPrecondition,
        "cannot go from active to active",
    )
    .await;

    // Revoked is final.
    let revoked = s
        .accepted(
            Via::Submit,
            signed_entry(
                &cb,
                status_change(
                    "EUCC-1",
                    issued,
                    reinstated,
                    CertificateStatus::Revoked,
                    "bad",
                ),
            ),
        )
        .await;
    for (to, name) in [
        (CertificateStatus::Active, "active"),
        (CertificateStatus::Suspended, "suspended"),
        (CertificateStatus::Withdrawn, "withdrawn"),
    ] {
        s.refused(
            Via::Submit,
            signed_entry(&cb, status_change("EUCC-1", issued, revoked, to, "undo")),
            Code::FailedPrecondition,
            &format!("certificate cannot go from revoked to {name}"),
        )
        .await;
    }
    // The CLI refuses it before sending.
    let output = s.log.cli(&[
        "reinstate",
        "--scheme",
        "EUCC",
        "--id",
        "EUCC-1",
        "--reason",
        "undo",
        "--key",
        s.cb.key_arg(),
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is revoked: it cannot become active"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn malformed_entries_and_wrong_services() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();
    let operator = s.log.operator_key();
    let good = issue_entry(&cb, certificate("EUCC", "EUCC-1"));

    // Not protobuf at all, and nothing.
    s.refused(
        Via::Submit,
        vec![0xff; 16],
        Code::InvalidArgument,
        "not a valid certlog.v1.Entry",
    )
    .await;
    s.refused(
        Via::Submit,
        b"certificate, trust me".to_vec(),
        Code::InvalidArgument,
        "not a valid certlog.v1.Entry",
    )
    .await;
    s.refused(
        Via::Submit,
        Vec::new(),
        Code::InvalidArgument,
        "entry has no body",
    )
    .await;

    // Non-canonical encodings of a valid, signed entry: an unknown field, a field twice.
    let mut unknown_field = good.clone();
    unknown_field.extend_from_slice(&[0x78, 0x01]);
    s.refused(
        Via::Submit,
        unknown_field,
        Code::InvalidArgument,
        "not canonically encoded",
    )
    .await;
    let mut twice = good.clone();
    twice.extend_from_slice(&good);
    s.refused(
        Via::Submit,
        twice,
        Code::InvalidArgument,
        "not canonically encoded",
    )
    .await;
    // A non-canonical statement, properly signed.
    let mut statement = Statement {
        body: Some(statement::Body::CertificateIssued(certificate(
            "EUCC", "EUCC-2",
        ))),
    }
    .encode_to_vec();
    statement.extend_from_slice(&[0x78, 0x01]);
    let mut message = entry::STATEMENT_CONTEXT.to_vec();
    message.extend_from_slice(&statement);
    let signed = SignedStatement {
        signature: cb.sign_bytes(&message).to_vec(),
        statement,
        signer: cb.name().into(),
        key_id: cb.key_id(),
    };
    s.refused(
        Via::Submit,
        entry::encode_entry(signed),
        Code::InvalidArgument,
        "not canonically encoded",
    )
    .await;
    // A statement with no body.
    let mut message = entry::STATEMENT_CONTEXT.to_vec();
    let empty = Vec::new();
    message.extend_from_slice(&empty);
    let signed = SignedStatement {
        signature: cb.sign_bytes(&message).to_vec(),
        statement: empty,
        signer: cb.name().into(),
        key_id: cb.key_id(),
    };
    s.refused(
        Via::Submit,
        entry::encode_entry(signed),
        Code::InvalidArgument,
        "entry has no statement body",
    )
    .await;

    // Map heads are the log's own.
    let map_head = Entry {
        body: Some(entry_pb::Body::MapHead(MapHead {
            root: vec![7; 32],
            tree_size: 1,
            timestamp: 1_790_000_000,
        })),
    }
    .encode_to_vec();
    s.refused(
        Via::Submit,
        map_head.clone(),
        Code::InvalidArgument,
        "map heads are written by the log alone",
    )
    .await;
    s.refused(
        Via::Register,
        map_head,
        Code::InvalidArgument,
        "map heads are written by the log alone",
    )
    .await;

    // Each statement to its own call.
    let register = signed_entry(&operator, registration(&key("new.example", 5), &["EUCC"]));
    let retire = signed_entry(
        &operator,
        statement::Body::CertifierRetired(CertifierRetired {
            name: "cb.example".into(),
            reason: "r".into(),
            retired_at: 1_790_000_000,
            compromised_since: 0,
        }),
    );
    s.refused(
        Via::Submit,
        register.clone(),
        Code::InvalidArgument,
        "the registry goes to the Admin service",
    )
    .await;
    s.refused(
        Via::Submit,
        retire.clone(),
        Code::InvalidArgument,
        "the registry goes to the Admin service",
    )
    .await;
    s.refused(
        Via::Register,
        good.clone(),
        Code::InvalidArgument,
        "RegisterCertifier takes a CertifierRegistered statement",
    )
    .await;
    s.refused(
        Via::Register,
        retire.clone(),
        Code::InvalidArgument,
        "RegisterCertifier takes a CertifierRegistered statement",
    )
    .await;
    s.refused(
        Via::Retire,
        register.clone(),
        Code::InvalidArgument,
        "RetireCertifier takes a CertifierRetired statement",
    )
    .await;
    s.refused(
        Via::Retire,
        good.clone(),
        Code::InvalidArgument,
        "RetireCertifier takes a CertifierRetired statement",
    )
    .await;

    // The operator's status changes and key rotations have calls of their own too.
    let rotate = signed_entry(
        &operator,
        statement::Body::CertifierKeyRotated(certlog_verifier::proto::CertifierKeyRotated {
            vkey: key("cb.example", 9).verifier_key().to_string(),
            reason: "r".into(),
            rotated_at: 1_790_000_000,
        }),
    );
    for (via, entry, needle) in [
        (
            Via::Submit,
            rotate.clone(),
            "the registry goes to the Admin service",
        ),
        (
            Via::Retire,
            rotate.clone(),
            "RetireCertifier takes a CertifierRetired statement",
        ),
        (
            Via::Rotate,
            retire.clone(),
            "RotateCertifierKey takes a CertifierKeyRotated statement",
        ),
        (
            Via::ChangeStatus,
            good.clone(),
            "ChangeStatus takes an operator_status_changed statement",
        ),
    ] {
        s.refused(via, entry, Code::InvalidArgument, needle).await;
    }

    // Each accepted where it belongs.
    s.accepted(Via::Submit, good).await;
    s.accepted(Via::Rotate, rotate).await;
    s.accepted(Via::Register, register).await;
    s.accepted(Via::Retire, retire).await;
}

#[tokio::test]
async fn concurrent_submissions_are_sequenced_by_the_rules() {
    use certlog_proto::SubmitRequest;
    use certlog_proto::services::certificate_log_client::CertificateLogClient;

    let s = Setup::new().await;
    let cb = s.cb.signing_key();
    let size = s.log.tree_size();
    let channel = tonic::transport::Channel::from_shared(s.log.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    // The same bytes 16 times, and 16 different issuances of one certificate, all at once.
    let same = issue_entry(&cb, certificate("EUCC", "EUCC-SAME"));
    for i in 0..32 {
        let entry = if i % 2 == 0 {
            same.clone()
        } else {
            let mut c = certificate("EUCC", "EUCC-RACE");
            c.product.as_mut().unwrap().model = format!("model {i}");
            issue_entry(&cb, c)
        };
        let mut client = CertificateLogClient::new(channel.clone());
        tasks.spawn(async move {
            let result = client
                .submit(SubmitRequest {
                    entry: entry.clone(),
                    wait: false,
                })
                .await;
            (i, entry, result.map(|r| r.into_inner()))
        });
    }
    let mut same_indexes = Vec::new();
    let mut same_new = 0;
    let mut race_won = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, entry, result) = joined.unwrap();
        if i % 2 == 0 {
            let response = result.unwrap();
            assert_eq!(response.leaf_hash, leaf_hash(&entry).0.to_vec());
            same_indexes.push(response.index);
            same_new += usize::from(!response.duplicate);
        } else {
            match result {
                Ok(response) => race_won.push((response.index, entry)),
                Err(status) => {
                    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
                    assert!(
                        status
                            .message()
                            .contains("EUCC/EUCC-RACE was already issued")
                    );
                }
            }
        }
    }
    same_indexes.dedup();
    assert_eq!(same_indexes.len(), 1, "identical bytes at several indexes");
    assert_eq!(same_new, 1, "identical bytes reported new more than once");
    assert_eq!(race_won.len(), 1, "one certificate issued more than once");
    // Exactly two entries were appended (besides map heads the log may write itself), and they
    // are the ones the answers named.
    let mut client = s.log.client().await;
    let after = s.log.tree_size();
    let appended = client.entries(size, after).await.unwrap();
    let mut ours: Vec<&Vec<u8>> = appended
        .iter()
        .filter(|e| entry::signed_statement(&entry::decode_entry(e).unwrap()).is_some())
        .collect();
    ours.sort();
    let mut expected = vec![&same, &race_won[0].1];
    expected.sort();
    assert_eq!(ours, expected);
    assert_eq!(
        client
            .entries(race_won[0].0, race_won[0].0 + 1)
            .await
            .unwrap()[0],
        race_won[0].1
    );
}

#[tokio::test]
async fn reads_beyond_the_tree_are_refused() {
    let mut s = Setup::new().await;
    let cb = s.cb.signing_key();
    s.accepted(Via::Submit, issue_entry(&cb, certificate("EUCC", "EUCC-1")))
        .await;
    let size = s.log.tree_size();
    let beyond = (size + 1).to_string();

    // Through the CLI: each fails, naming the cause.
    for (args, needle) in [
        (vec!["get", "--index", &beyond], "OutOfRange"),
        (vec!["prove", "--index", &beyond], "OutOfRange"),
        (
            vec!["prove", "--index", "0", "--size", &beyond],
            "OutOfRange",
        ),
        (vec!["checkpoint", "--size", &beyond], "OutOfRange"),
        (
            vec!["status", "--scheme", "EUCC", "--id", "EUCC-404"],
            "EUCC/EUCC-404 is not in the log (proven absent",
        ),
    ] {
        let output = s.log.cli(&args);
        assert!(!output.status.success(), "{args:?}: {}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }

    // Through gRPC.
    let c = &mut s.client;
    assert_refused(c.entries(size, size + 1).await, Code::OutOfRange, "entries");
    assert_refused(c.entries(1, 1).await, Code::OutOfRange, "non-empty range");
    assert_refused(c.entries(0, u64::MAX).await, Code::OutOfRange, "entries");
    assert_refused(c.inclusion_proof(Ok(size), 0).await, Code::OutOfRange, "");
    assert_refused(
        c.inclusion_proof(Ok(0), size + 1).await,
        Code::OutOfRange,
        "",
    );
    assert_refused(
        c.inclusion_proof(Ok(u64::MAX), 0).await,
        Code::OutOfRange,
        "",
    );
    assert_refused(
        c.consistency_proof(size, size + 1).await,
        Code::OutOfRange,
        "",
    );
    assert_refused(c.consistency_proof(size, 1).await, Code::OutOfRange, "");
    assert_refused(c.checkpoint(size + 1).await, Code::OutOfRange, "");
    assert_refused(
        c.status("EUCC", "EUCC-404").await,
        Code::NotFound,
        "certificate EUCC/EUCC-404 is not in the log",
    );
    // The log is unharmed.
    assert_eq!(s.log.tree_size(), size);
    assert_eq!(c.entries(0, size).await.unwrap().len() as u64, size);
}

/// `--rate-limit N`: a certifier sending faster than N a second gets RESOURCE_EXHAUSTED for the
/// rest, naming the limit; another certifier is not held back, and nothing refused is logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certifier_over_its_rate_limit_is_refused() {
    let log = Log::start_with(&["--rate-limit", "2"]);
    let fast = log.certifier("fast.example", &["EUCC"]);
    let calm = log.certifier("calm.example", &["EUCC"]);
    let size = log.tree_size();
    // Twenty at once: only a burst of two, plus two a second, may pass.
    let key = fast.signing_key();
    let sends = (0..20).map(|i| {
        let entry = issue_entry(&key, certificate("EUCC", &format!("FAST-{i}")));
        let url = log.url();
        let vkey = log.log_vkey();
        tokio::spawn(async move {
            let mut client = Client::connect(&url, Some(vkey)).await.unwrap();
            client.submit(entry, false).await
        })
    });
    let mut accepted = 0;
    let mut refused = 0;
    for send in sends.collect::<Vec<_>>() {
        match send.await.unwrap() {
            Ok(_) => accepted += 1,
            result => {
                let status = refusal(result);
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                let message = status.message();
                assert!(message.contains("fast.example") && message.contains("rate limit"));
                refused += 1;
            }
        }
    }
    assert!(
        accepted >= 2 && refused >= 1,
        "{accepted} accepted, {refused} refused"
    );
    // Each accepted certificate and its map head, nothing else.
    assert!(log.tree_size() <= size + 2 * accepted as u64);
    let mut client = log.client().await;
    client
        .submit(
            issue_entry(&calm.signing_key(), certificate("EUCC", "CALM-1")),
            true,
        )
        .await
        .unwrap();
}

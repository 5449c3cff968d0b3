//! The certlog.v1 messages are generated ahead from `proto/certlog/v1` and committed
//! (`src/proto/certlog.v1.rs`), so that the crate builds and publishes on its own, with prost
//! alone and without std; the gRPC crate (certlog-proto) reuses them through `extern_path`.
//! This test generates them again and fails when the committed file differs;
//! `cargo test -p certlog-verifier --test generated_proto -- --ignored` writes it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// The messages of a certificate, written by people as JSON (see examples/).
const CERTIFICATE_MESSAGES: &[&str] = &[
    "Certificate",
    "Assurance",
    "Standard",
    "Product",
    "Digest",
    "Holder",
    "CertificationBody",
    "Evidence",
    "Supersedes",
];

/// Times in JSON are RFC 3339 strings, in the log seconds since the epoch.
const TIME_FIELDS: &[&str] = &[
    "Certificate.issued_at",
    "Certificate.not_before",
    "Certificate.not_after",
    "Certificate.support_period_end",
];

/// Digests in JSON are hex strings, in the log bytes.
const DIGEST_FIELDS: &[&str] = &["Digest.digest", "Evidence.sha256"];

/// The committed file.
fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/proto/certlog.v1.rs")
}

/// The messages as prost generates them from proto/ now.
fn generated() -> String {
    let out = tempfile::tempdir().unwrap();
    let proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path().unwrap());
    config.out_dir(out.path());
    // BTreeMap: available without std, and encodes in a fixed order.
    config.btree_map(["."]);
    for message in CERTIFICATE_MESSAGES {
        config.type_attribute(
            format!(".certlog.v1.{message}"),
            "#[cfg_attr(feature = \"json\", derive(serde::Serialize, serde::Deserialize), \
             serde(default, deny_unknown_fields))]",
        );
    }
    for field in TIME_FIELDS {
        config.field_attribute(
            format!(".certlog.v1.{field}"),
            "#[cfg_attr(feature = \"json\", serde(with = \"crate::certificate::json::time\", \
             skip_serializing_if = \"crate::certificate::json::is_zero\"))]",
        );
    }
    for field in DIGEST_FIELDS {
        config.field_attribute(
            format!(".certlog.v1.{field}"),
            "#[cfg_attr(feature = \"json\", serde(with = \"crate::certificate::json::hex_bytes\"))]",
        );
    }
    let files =
        ["log.proto", "service.proto", "audit.proto"].map(|f| proto.join("certlog/v1").join(f));
    config.compile_protos(&files, &[&proto]).unwrap();
    std::fs::read_to_string(out.path().join("certlog.v1.rs")).unwrap()
}

#[test]
fn the_committed_messages_are_generated_from_proto() {
    let committed = std::fs::read_to_string(committed()).unwrap();
    assert!(
        committed == generated(),
        "src/proto/certlog.v1.rs is not what proto/ gives: run \
         `cargo test -p certlog-verifier --test generated_proto -- --ignored`"
    );
}

#[test]
#[ignore = "writes src/proto/certlog.v1.rs: run it after changing proto/"]
fn write_the_messages() {
    std::fs::write(committed(), generated()).unwrap();
}

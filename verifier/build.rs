//! Generates the certlog.v1 protobuf messages from proto/ with prost alone, so that they build
//! without std; the gRPC crate (certlog-proto) reuses them through `extern_path`.

use std::error::Error;

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

fn main() -> Result<(), Box<dyn Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
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
    config.compile_protos(
        &[
            "../proto/certlog/v1/log.proto",
            "../proto/certlog/v1/service.proto",
            "../proto/certlog/v1/audit.proto",
        ],
        &["../proto"],
    )?;
    println!("cargo:rerun-if-changed=../proto/certlog/v1");
    Ok(())
}

//! Generates the gRPC services of proto/certlog/v1/service.proto with tonic. The messages are
//! certlog-verifier's (generated there without std), reused through `extern_path`, so that no
//! message is defined twice.

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .extern_path(".certlog.v1", "::certlog_verifier::proto")
        .file_descriptor_set_path(out_dir.join("certlog_v1_descriptor.bin"))
        .compile_with_config(
            config,
            &["certlog/v1/log.proto", "certlog/v1/service.proto"],
            &["."],
        )?;
    println!("cargo:rerun-if-changed=certlog/v1");
    Ok(())
}

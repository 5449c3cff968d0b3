//! The committed certlog_verifier.h is what cbindgen writes from the sources.
//!
//! A test rather than a build script: the header lives in the source tree, which a build
//! script should not write, and the cross builds for microcontrollers then need neither
//! cbindgen nor its dependencies. `CERTLOG_BLESS=1` writes the header instead of comparing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn header_is_generated_from_the_sources() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .unwrap()
        .write(&mut generated);
    let path = dir.join("certlog_verifier.h");
    if std::env::var_os("CERTLOG_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from what cbindgen writes; run with CERTLOG_BLESS=1 to write it again:\n{}",
        path.display(),
        String::from_utf8_lossy(&generated)
    );
}

//! Turns the bundle vectors' manifest (verifier/tests/vectors/bundles/manifest.json, its format
//! in docs and the manifest itself) into Rust constants, `vectors.rs` in OUT_DIR, with each
//! bundle embedded by `include_bytes!`; and puts memory.x where cortex-m-rt's link.x finds it.
//!
//! CERTLOG_VECTORS names another manifest of the same format instead.

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The shared vectors, from this crate's folder.
const SHARED: &str = "../../verifier/tests/vectors/bundles/manifest.json";

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    fs::copy("memory.x", out.join("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=CERTLOG_VECTORS");
    println!("cargo:rerun-if-changed={SHARED}");

    let manifest = PathBuf::from(std::env::var("CERTLOG_VECTORS").unwrap_or(SHARED.into()));
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let json: Value = serde_json::from_str(&text)?;
    let dir = manifest.parent().ok_or("the manifest has no folder")?;
    fs::write(out.join("vectors.rs"), generate(&json, dir)?)?;
    Ok(())
}

/// The Rust source of the manifest's constants.
fn generate(json: &Value, dir: &Path) -> Result<String, Box<dyn Error>> {
    let mut rs = String::new();
    writeln!(rs, "/// The log's key.")?;
    writeln!(
        rs,
        "pub const LOG_VKEY: &str = {:?};",
        string(json, "log_vkey")?
    )?;
    writeln!(rs, "/// The witnesses' keys.")?;
    writeln!(rs, "pub const WITNESS_VKEYS: &[&str] = &[")?;
    for key in array(json, "witness_vkeys")? {
        writeln!(
            rs,
            "    {:?},",
            key.as_str().ok_or("a witness vkey is no string")?
        )?;
    }
    writeln!(rs, "];")?;
    writeln!(rs, "/// The cases, in the manifest's order.")?;
    writeln!(rs, "pub const CASES: &[Case] = &[")?;
    for case in array(json, "cases")? {
        let file = dir.join(string(case, "file")?);
        let file = file
            .canonicalize()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        println!("cargo:rerun-if-changed={}", file.display());
        writeln!(rs, "    Case {{")?;
        writeln!(rs, "        name: {:?},", string(case, "name")?)?;
        writeln!(
            rs,
            "        bundle: include_bytes!({:?}),",
            file.display().to_string()
        )?;
        writeln!(rs, "        scheme: {:?},", string(case, "scheme")?)?;
        writeln!(
            rs,
            "        certificate_id: {:?},",
            string(case, "certificate_id")?
        )?;
        writeln!(rs, "        certifier: {:?},", case["certifier"].as_str())?;
        let firmware = match case["firmware_sha256"].as_str() {
            Some(hex) => format!("Some({:?})", digest(hex)?),
            None => "None".into(),
        };
        writeln!(rs, "        firmware_sha256: {firmware},")?;
        writeln!(rs, "        now: {},", number(case, "now")?)?;
        writeln!(rs, "        max_age: {:?},", case["max_age"].as_u64())?;
        writeln!(rs, "        quorum: {},", number(case, "quorum")?)?;
        let trusted = match &case["trusted"] {
            Value::Null => "None".into(),
            tree => format!(
                "Some(({}, {:?}))",
                number(tree, "size")?,
                string(tree, "root")?
            ),
        };
        writeln!(rs, "        trusted: {trusted},")?;
        writeln!(rs, "        expect: {:?},", string(case, "expect")?)?;
        writeln!(rs, "    }},")?;
    }
    writeln!(rs, "];")?;
    Ok(rs)
}

fn string<'a>(json: &'a Value, field: &str) -> Result<&'a str, String> {
    json[field]
        .as_str()
        .ok_or_else(|| format!("{field}: not a string"))
}

fn number(json: &Value, field: &str) -> Result<i64, String> {
    json[field]
        .as_i64()
        .ok_or_else(|| format!("{field}: not an integer"))
}

fn array<'a>(json: &'a Value, field: &str) -> Result<&'a Vec<Value>, String> {
    json[field]
        .as_array()
        .ok_or_else(|| format!("{field}: not an array"))
}

/// A SHA-256 digest from 64 hex digits.
fn digest(hex: &str) -> Result<[u8; 32], String> {
    let bad = || format!("firmware_sha256 {hex:?}: not 64 hex digits");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut bytes = [0; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(bytes)
}

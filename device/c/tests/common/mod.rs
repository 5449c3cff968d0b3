//! Calling certlog_verify_bundle from Rust as C does, on the shared bundle vectors
//! (verifier/tests/vectors/bundles/manifest.json).

#![allow(dead_code, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{CString, c_char};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use certlog_verifier_c::{
    CertlogStanding, CertlogStatus, CertlogTrustedState, certlog_verify_bundle,
};
use serde_json::Value;

/// The folder of the shared vectors.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../verifier/tests/vectors/bundles")
}

/// The manifest.
pub fn manifest() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The manifest's case named `name`.
pub fn case(name: &str) -> Value {
    manifest()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .clone()
}

/// A trusted state of the manifest (`{"size", "root"}` in base64), without a map head time.
pub fn trusted_of(value: &Value) -> Option<CertlogTrustedState> {
    let root = base64::engine::general_purpose::STANDARD
        .decode(value.get("root")?.as_str()?)
        .unwrap();
    Some(CertlogTrustedState {
        size: value["size"].as_u64().unwrap(),
        root: root.try_into().unwrap(),
        map_head_time: 0,
    })
}

/// The inputs of a call, owned.
pub struct Inputs {
    pub bundle: Vec<u8>,
    pub log_vkey: CString,
    pub witnesses: Vec<CString>,
    pub quorum: usize,
    pub scheme: CString,
    pub certificate_id: CString,
    pub certifier: Option<CString>,
    pub firmware_sha256: Option<[u8; 32]>,
    pub now: i64,
    pub max_age: u64,
    pub trusted: Option<CertlogTrustedState>,
}

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

impl Inputs {
    /// The inputs of the manifest's case `name`.
    pub fn of_case(name: &str) -> Inputs {
        let manifest = manifest();
        let case = case(name);
        let text = |v: &Value| v.as_str().map(c);
        Inputs {
            bundle: std::fs::read(vectors_dir().join(case["file"].as_str().unwrap())).unwrap(),
            log_vkey: text(&manifest["log_vkey"]).unwrap(),
            witnesses: manifest["witness_vkeys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| text(v).unwrap())
                .collect(),
            quorum: case["quorum"].as_u64().unwrap() as usize,
            scheme: text(&case["scheme"]).unwrap(),
            certificate_id: text(&case["certificate_id"]).unwrap(),
            certifier: text(&case["certifier"]),
            firmware_sha256: case["firmware_sha256"]
                .as_str()
                .map(|h| hex::decode(h).unwrap().try_into().unwrap()),
            now: case["now"].as_i64().unwrap(),
            max_age: case["max_age"].as_u64().unwrap_or(0),
            trusted: trusted_of(&case["trusted"]),
        }
    }
}

/// What a call wrote back.
#[derive(Debug)]
pub struct Answer {
    pub status: CertlogStatus,
    pub standing: CertlogStanding,
    pub reason: String,
    pub trusted: CertlogTrustedState,
}

/// The raw arguments of a call, for tests to change one of them.
pub struct Raw {
    pub bundle: *const u8,
    pub bundle_len: usize,
    pub log_vkey: *const c_char,
    pub witness_vkeys: *const *const c_char,
    pub witness_count: usize,
    pub quorum: usize,
    pub scheme: *const c_char,
    pub certificate_id: *const c_char,
    pub certifier: *const c_char,
    pub firmware_sha256: *const u8,
    pub now: i64,
    pub max_age: u64,
    pub trusted: *const CertlogTrustedState,
    pub standing: *mut CertlogStanding,
    pub reason: *mut c_char,
    pub reason_len: usize,
    pub new_trusted: *mut CertlogTrustedState,
}

/// The outputs a call writes into.
pub struct Outputs {
    pub standing: CertlogStanding,
    pub reason: [u8; 256],
    pub trusted: CertlogTrustedState,
}

impl Default for Outputs {
    fn default() -> Outputs {
        Outputs {
            // Not what a failure leaves: a test sees that it was overwritten.
            standing: CertlogStanding::Active,
            reason: [0xff; 256],
            trusted: CertlogTrustedState {
                size: 0,
                root: [0; 32],
                map_head_time: 0,
            },
        }
    }
}

impl Outputs {
    /// The reason, up to its NUL; "(not written)" without one.
    pub fn reason(&self) -> String {
        match self.reason.iter().position(|&b| b == 0) {
            Some(end) => String::from_utf8(self.reason[..end].to_vec()).unwrap(),
            None => "(not written)".into(),
        }
    }
}

impl Raw {
    /// The pointers to `inputs` and `outputs` (and to `witnesses`, the array of the witness
    /// keys' pointers, which must live as long).
    pub fn new(inputs: &Inputs, witnesses: &[*const c_char], outputs: &mut Outputs) -> Raw {
        Raw {
            bundle: inputs.bundle.as_ptr(),
            bundle_len: inputs.bundle.len(),
            log_vkey: inputs.log_vkey.as_ptr(),
            witness_vkeys: witnesses.as_ptr(),
            witness_count: witnesses.len(),
            quorum: inputs.quorum,
            scheme: inputs.scheme.as_ptr(),
            certificate_id: inputs.certificate_id.as_ptr(),
            certifier: inputs
                .certifier
                .as_ref()
                .map_or(std::ptr::null(), |c| c.as_ptr()),
            firmware_sha256: inputs
                .firmware_sha256
                .as_ref()
                .map_or(std::ptr::null(), |d| d.as_ptr()),
            now: inputs.now,
            max_age: inputs.max_age,
            trusted: inputs
                .trusted
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const _),
            standing: &mut outputs.standing,
            reason: outputs.reason.as_mut_ptr().cast(),
            reason_len: outputs.reason.len(),
            new_trusted: &mut outputs.trusted,
        }
    }

    /// Calls certlog_verify_bundle with these arguments.
    ///
    /// # Safety
    ///
    /// The pointers are those of [`Raw::new`], still alive, or ones the test changed to what
    /// the function must refuse without reading them (NULL).
    pub unsafe fn call(&self) -> CertlogStatus {
        // SAFETY: the caller's promise: every pointer is valid or NULL.
        unsafe {
            certlog_verify_bundle(
                self.bundle,
                self.bundle_len,
                self.log_vkey,
                self.witness_vkeys,
                self.witness_count,
                self.quorum,
                self.scheme,
                self.certificate_id,
                self.certifier,
                self.firmware_sha256,
                self.now,
                self.max_age,
                self.trusted,
                self.standing,
                self.reason,
                self.reason_len,
                self.new_trusted,
            )
        }
    }
}

/// Calls certlog_verify_bundle on `inputs`, with `change` applied to the raw arguments first.
pub fn call_with(inputs: &Inputs, change: impl FnOnce(&mut Raw)) -> Answer {
    let witnesses: Vec<*const c_char> = inputs.witnesses.iter().map(|w| w.as_ptr()).collect();
    let mut outputs = Outputs::default();
    let mut raw = Raw::new(inputs, &witnesses, &mut outputs);
    change(&mut raw);
    // SAFETY: the pointers of Raw::new, alive until the end of this function, or the changed
    // ones, which the tests make NULL or point to live data.
    let status = unsafe { raw.call() };
    Answer {
        status,
        standing: outputs.standing,
        reason: outputs.reason(),
        trusted: outputs.trusted,
    }
}

/// Calls certlog_verify_bundle on `inputs`.
pub fn call(inputs: &Inputs) -> Answer {
    call_with(inputs, |_| {})
}

//! The proof-bundle verifier for WebAssembly (issue 19), which the buyers' page runs: a
//! certificate's bundle and a JSON [`request`] (the pinned keys, the expected certificate,
//! the time) in, the JSON [`report`] of what the bundle proves or a [`Failure`] out.
//!
//! [`verify`] does the work and is tested on the host; [`exports`] is the thin layer that
//! JavaScript calls (`certlog-verifier.mjs` beside this crate); on wasm32 the crate is
//! `no_std` and brings its heap and panic handler (`runtime.rs`).

#![cfg_attr(target_arch = "wasm32", no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod certificate;
pub mod exports;
pub mod report;
pub mod request;
#[cfg(target_arch = "wasm32")]
mod runtime;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use certlog_verifier::bundle::{Policy, verify_bundle};
use serde::Serialize;

use crate::report::Report;
use crate::request::Request;

/// Why there is no report.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// Always false.
    pub ok: bool,
    /// "request" when the request is wrong (the caller's mistake), "bundle" when the bundle
    /// does not verify.
    pub kind: &'static str,
    /// The reason, in English.
    pub error: String,
}

impl Failure {
    fn new(kind: &'static str, error: impl ToString) -> Failure {
        Failure {
            ok: false,
            kind,
            error: error.to_string(),
        }
    }
}

/// Verifies `bundle` as `request` asks (the JSON of a [`Request`]), and answers with the JSON
/// of a [`Report`], or of a [`Failure`].
pub fn verify(bundle: &[u8], request: &[u8]) -> Vec<u8> {
    let answer = match answer(bundle, request) {
        Ok(json) => Ok(json),
        Err(failure) => serde_json::to_vec(&failure),
    };
    // Serializing these types cannot fail (string keys, no floats); say so if it ever does.
    answer.unwrap_or_else(|_| br#"{"ok":false,"kind":"request","error":"no JSON"}"#.to_vec())
}

fn answer(bundle: &[u8], request: &[u8]) -> Result<Vec<u8>, Failure> {
    let fail = |error| Failure::new("request", error);
    let request = Request::from_json(request).map_err(fail)?;
    let keys = request.keys().map_err(fail)?;
    let options = request.options().map_err(fail)?;
    let policy = Policy {
        log_key: &keys.log,
        witnesses: &keys.witnesses,
        quorum: request.quorum,
    };
    let verified = verify_bundle(bundle, &policy, &request.expected(), &options)
        .map_err(|e| Failure::new("bundle", e))?;
    serde_json::to_vec(&Report::new(&verified)).map_err(|e| Failure::new("request", e))
}

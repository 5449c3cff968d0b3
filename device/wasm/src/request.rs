//! What the caller asks: the pinned keys, the expected certificate and the options of
//! [`certlog_verifier::bundle::verify_bundle`], as a JSON object.
//!
//! ```json
//! { "log_vkey": "<C2SP vkey>", "witness_vkeys": ["<vkey>"], "quorum": 1,
//!   "scheme": "EUCC", "certificate_id": "EUCC-1", "certifier": "cb.example",
//!   "firmware_sha256": "<64 hex digits>", "now": 1800000000, "max_age": 86400,
//!   "trusted": { "size": 42, "root": "<base64 of 32 bytes>" } }
//! ```
//!
//! `witness_vkeys` and `quorum` default to none and 0; `certifier`, `firmware_sha256`,
//! `max_age` and `trusted` may be null or left out. Unknown fields are refused, so that a
//! misspelt condition is not silently dropped.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use certlog_verifier::VerifierKey;
use certlog_verifier::bundle::{Expected, Options, TrustedTree};
use certlog_verifier::merkle::Hash;
use serde::Deserialize;

/// A request, as the caller wrote it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The log's key, as a C2SP vkey.
    pub log_vkey: String,
    /// The witnesses' cosignature keys, as C2SP vkeys.
    #[serde(default)]
    pub witness_vkeys: Vec<String>,
    /// How many of the witnesses must have cosigned.
    #[serde(default)]
    pub quorum: usize,
    /// The expected certificate's scheme.
    pub scheme: String,
    /// Its ID within the scheme.
    pub certificate_id: String,
    /// The certifier that must have issued it (its key name), if known.
    pub certifier: Option<String>,
    /// The SHA-256 the certificate must list among its firmware digests, in hex.
    pub firmware_sha256: Option<String>,
    /// The current time, seconds since the Unix epoch.
    pub now: i64,
    /// The oldest map head accepted, in seconds before `now`.
    pub max_age: Option<u64>,
    /// The tree the caller already trusts: the bundle's must extend it.
    pub trusted: Option<Tree>,
}

/// A tree: its size and its root in base64, as [`crate::report::Report::tree`] gives it.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    /// Its size.
    pub size: u64,
    /// Its root, in base64.
    pub root: String,
}

/// The keys of a request, parsed.
pub struct Keys {
    /// The log's key.
    pub log: VerifierKey,
    /// The witnesses' keys.
    pub witnesses: Vec<VerifierKey>,
}

/// Why a request cannot be asked: the caller's mistake, not the bundle's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not the JSON object above.
    #[error("the request is not valid JSON of a request: {0}")]
    Json(String),
    /// A key does not parse.
    #[error("{what} is not a C2SP vkey: {reason}")]
    Key {
        /// Which key.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The firmware digest is not 64 hex digits.
    #[error("firmware_sha256 is not 64 hex digits")]
    Firmware,
    /// The trusted tree's root is not base64 of 32 bytes.
    #[error("trusted.root is not base64 of 32 bytes")]
    TrustedRoot,
}

impl Request {
    /// Parses a request from its JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Request, RequestError> {
        serde_json::from_slice(bytes).map_err(|e| RequestError::Json(e.to_string()))
    }

    /// Parses its keys.
    pub fn keys(&self) -> Result<Keys, RequestError> {
        let parse = |what, text: &str| {
            text.parse::<VerifierKey>().map_err(|e| RequestError::Key {
                what,
                reason: e.to_string(),
            })
        };
        Ok(Keys {
            log: parse("log_vkey", &self.log_vkey)?,
            witnesses: self
                .witness_vkeys
                .iter()
                .map(|text| parse("a witness vkey", text))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The certificate asked about.
    pub fn expected(&self) -> Expected<'_> {
        Expected {
            scheme: &self.scheme,
            certificate_id: &self.certificate_id,
            certifier: self.certifier.as_deref(),
        }
    }

    /// The options: time, freshness, firmware and trusted tree.
    pub fn options(&self) -> Result<Options, RequestError> {
        let firmware_sha256 = match &self.firmware_sha256 {
            Some(text) => {
                let mut digest = [0; 32];
                hex::decode_to_slice(text, &mut digest).map_err(|_| RequestError::Firmware)?;
                Some(digest)
            }
            None => None,
        };
        let trusted = match &self.trusted {
            Some(tree) => Some(TrustedTree {
                size: tree.size,
                root: Hash::from_base64(&tree.root).map_err(|_| RequestError::TrustedRoot)?,
            }),
            None => None,
        };
        Ok(Options {
            now: self.now,
            max_age: self.max_age,
            firmware_sha256,
            trusted,
        })
    }
}

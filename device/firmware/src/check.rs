//! One case of the vectors: what the device asks (the manifest's keys, identity, clock and
//! trusted tree), the call to `verify_bundle`, and its answer against the one due.

use alloc::vec::Vec;
use core::fmt;

use certlog_verifier::VerifierKey;
use certlog_verifier::bundle::{
    BundleError, Expected, Options, Policy, Standing, TrustedTree, verify_bundle,
};
use certlog_verifier::key::KeyError;
use certlog_verifier::merkle::Hash;

use crate::vectors::{Case, LOG_VKEY, WITNESS_VKEYS};

/// The manifest's keys, parsed once.
pub struct Keys {
    log: VerifierKey,
    witnesses: Vec<VerifierKey>,
}

impl Keys {
    /// Parses the log's and the witnesses' vkeys.
    pub fn parse() -> Result<Keys, KeyError> {
        Ok(Keys {
            log: LOG_VKEY.parse()?,
            witnesses: WITNESS_VKEYS
                .iter()
                .map(|vkey| vkey.parse())
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A case's question, ready to be put to `verify_bundle`.
pub struct Request<'a> {
    bundle: &'a [u8],
    policy: Policy<'a>,
    expected: Expected<'a>,
    options: Options,
}

impl<'a> Request<'a> {
    /// The question of `case` to a device that trusts `keys`; None if the case's trusted root
    /// is not a hash in base64.
    pub fn new(case: &'a Case, keys: &'a Keys) -> Option<Request<'a>> {
        let trusted = match case.trusted {
            Some((size, root)) => Some(TrustedTree {
                size,
                root: Hash::from_base64(root).ok()?,
            }),
            None => None,
        };
        Some(Request {
            bundle: case.bundle,
            policy: Policy {
                log_key: &keys.log,
                witnesses: &keys.witnesses,
                quorum: case.quorum,
            },
            expected: Expected {
                scheme: case.scheme,
                certificate_id: case.certificate_id,
                certifier: case.certifier,
            },
            options: Options {
                now: case.now,
                max_age: case.max_age,
                firmware_sha256: case.firmware_sha256,
                trusted,
            },
        })
    }

    /// Verifies the bundle: the call whose costs the firmware measures.
    #[inline(never)]
    pub fn verify(&self) -> Outcome {
        // The answer is read in place: moving the Verified out of it (712 B) copied it to a
        // second slot of this frame.
        match verify_bundle(self.bundle, &self.policy, &self.expected, &self.options) {
            Ok(ref verified) => Outcome::Standing(verified.standing),
            Err(error) => Outcome::Invalid(error),
        }
    }
}

/// What the firmware got for a case.
pub enum Outcome {
    /// The bundle verifies: the certificate's standing.
    Standing(Standing),
    /// It does not.
    Invalid(BundleError),
    /// The case itself is malformed (its trusted root).
    BadCase,
}

impl Outcome {
    /// Whether this is the answer due: the standing's name, or "invalid".
    pub fn matches(&self, expect: &str) -> bool {
        match self {
            Outcome::Standing(standing) => standing.name() == expect,
            Outcome::Invalid(_) => expect == "invalid",
            Outcome::BadCase => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Standing(standing) => f.write_str(standing.name()),
            Outcome::Invalid(error) => write!(f, "does not verify: {error}"),
            Outcome::BadCase => f.write_str("the case's trusted root is not base64 of 32 bytes"),
        }
    }
}

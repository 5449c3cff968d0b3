//! Why a call did not verify, and which status code says so.

use certlog_verifier::bundle::BundleError;
use certlog_verifier::checkpoint::CheckpointError;
use certlog_verifier::cosignature::CosignatureError;
use certlog_verifier::key::KeyError;

use crate::types::CertlogStatus;

/// A refused argument or a bundle that does not verify; its text is the reason given to C.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A pointer that must not be NULL is.
    #[error("{0} is NULL")]
    Null(&'static str),
    /// Text that is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A length no object can have.
    #[error("{0} has a length larger than memory")]
    TooLong(&'static str),
    /// A key that does not parse.
    #[error("{what}: {error}")]
    Key {
        /// Which key.
        what: &'static str,
        /// Why.
        error: KeyError,
    },
    /// A maximum age with nothing to judge it against.
    #[error("max_age needs a time to judge it against: a clock (now) or a trusted map head time")]
    NoTime,
    /// The bundle does not verify.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A panic, caught at the boundary.
    #[cfg(feature = "std")]
    #[error("internal error: the verifier panicked; please report it")]
    Panic,
}

impl Error {
    /// The status code C sees.
    pub(crate) fn status(&self) -> CertlogStatus {
        match self {
            Error::Null(_)
            | Error::NotUtf8(_)
            | Error::TooLong(_)
            | Error::Key { .. }
            | Error::NoTime => CertlogStatus::BadInput,
            // A log or witness key of a type that cannot verify is the caller's argument.
            Error::Bundle(
                BundleError::Checkpoint(CheckpointError::Key(_))
                | BundleError::Cosignatures(CosignatureError::Key(_)),
            ) => CertlogStatus::BadInput,
            // Everything else is about the bundle's bytes, bytes that are no bundle included.
            Error::Bundle(_) => CertlogStatus::DoesNotVerify,
            #[cfg(feature = "std")]
            Error::Panic => CertlogStatus::Internal,
        }
    }
}

//! The C API's types, as certlog_verifier.h declares them (cbindgen writes the header from
//! these definitions and their doc comments).

use certlog_verifier::bundle::Standing;

/// What became of the call. Only `CERTLOG_STATUS_OK` means the bundle verified and the standing
/// is proven.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertlogStatus {
    /// The bundle verified: the standing and the new trusted state are written.
    Ok = 0,
    /// The bundle does not verify (a signature, a proof, the identity, the witness quorum, the
    /// freshness, the firmware digest, a rollback, bytes that are no bundle...): the reason
    /// says which check.
    DoesNotVerify = 1,
    /// The caller's arguments are wrong: a NULL pointer, text that is not UTF-8, a key that
    /// does not parse, a maximum age without a time to judge it against.
    BadInput = 2,
    /// A bug of the library (a panic caught at the boundary, host builds only).
    Internal = 3,
}

/// The standing of a verified certificate (certlog_verifier::bundle::Standing). Zero is
/// "unknown", written whenever the status is not `CERTLOG_STATUS_OK`, so that a caller reading
/// the standing alone can never take a failure for "active".
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertlogStanding {
    /// Nothing is proven: the call did not return `CERTLOG_STATUS_OK`.
    Unknown = 0,
    /// Issued, active and within its validity dates.
    Active = 1,
    /// Suspended by its certifier.
    Suspended = 2,
    /// Revoked by its certifier (final).
    Revoked = 3,
    /// Withdrawn by its certifier (final).
    Withdrawn = 4,
    /// Active, but past its `not_after`.
    Expired = 5,
    /// Active, but before its `not_before`.
    NotYetValid = 6,
    /// Not in the log: proven absent from the status map.
    Absent = 7,
    /// Revoked with every certificate its certifier logged after its key was compromised.
    CertifierCompromised = 8,
}

impl From<Standing> for CertlogStanding {
    fn from(standing: Standing) -> CertlogStanding {
        match standing {
            Standing::Active => CertlogStanding::Active,
            Standing::Suspended => CertlogStanding::Suspended,
            Standing::Revoked => CertlogStanding::Revoked,
            Standing::Withdrawn => CertlogStanding::Withdrawn,
            Standing::Expired => CertlogStanding::Expired,
            Standing::NotYetValid => CertlogStanding::NotYetValid,
            Standing::Absent => CertlogStanding::Absent,
            Standing::CertifierCompromised => CertlogStanding::CertifierCompromised,
        }
    }
}

/// What a device keeps between two verifications: the last tree it trusted and the time of
/// that tree's map head, its clock floor when it has no clock (see certlog_verify_bundle).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertlogTrustedState {
    /// The tree's size.
    pub size: u64,
    /// The tree's root hash.
    pub root: [u8; 32],
    /// The time of its map head, seconds since the Unix epoch; 0 for unknown.
    pub map_head_time: i64,
}

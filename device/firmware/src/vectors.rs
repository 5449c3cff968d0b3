//! The bundle vectors, embedded in the firmware: build.rs turns their manifest
//! (verifier/tests/vectors/bundles/manifest.json) into the constants below.

/// One case of the manifest: a bundle, what the device asks about it, and the answer due.
pub struct Case {
    /// The case's name.
    pub name: &'static str,
    /// The bundle's bytes.
    pub bundle: &'static [u8],
    /// The expected certificate's scheme.
    pub scheme: &'static str,
    /// Its ID.
    pub certificate_id: &'static str,
    /// The certifier that must have issued it, if the device knows it.
    pub certifier: Option<&'static str>,
    /// The SHA-256 of the firmware the certificate must list.
    pub firmware_sha256: Option<[u8; 32]>,
    /// The device's clock, seconds since the Unix epoch.
    pub now: i64,
    /// The oldest map head accepted, in seconds before `now`.
    pub max_age: Option<u64>,
    /// How many of the witnesses must have cosigned.
    pub quorum: usize,
    /// The tree the device trusts: its size and its root in base64.
    pub trusted: Option<(u64, &'static str)>,
    /// The standing's name, or "invalid" when the bundle must not verify.
    pub expect: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

//! Statement builders shared by the unit tests: an EUCC certificate and a status change.

use certlog_verifier::proto::{Certificate, CertificateStatus, Product, StatusChanged, statement};

/// The issuance of EUCC certificate `id`, valid from 10 to 20.
pub(crate) fn issue(id: &str) -> statement::Body {
    statement::Body::CertificateIssued(Certificate {
        scheme: "EUCC".into(),
        certificate_id: id.into(),
        product: Some(Product {
            vendor: "V".into(),
            name: "N".into(),
            ..Default::default()
        }),
        issued_at: 10,
        not_after: 20,
        ..Default::default()
    })
}

/// A change of EUCC certificate `id` to `status`, after its entry at `previous`.
pub(crate) fn change(
    id: &str,
    issued: u64,
    previous: u64,
    status: CertificateStatus,
) -> statement::Body {
    statement::Body::StatusChanged(StatusChanged {
        scheme: "EUCC".into(),
        certificate_id: id.into(),
        issued_index: issued,
        previous_index: previous,
        status: status.into(),
        reason: "because".into(),
        effective_at: 15,
    })
}

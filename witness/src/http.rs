//! The witness's HTTP interface (C2SP tlog-witness, "add-checkpoint"): `POST /add-checkpoint`.
//!
//! Answers: 200 with the cosignature lines; 409 with `Content-Type: text/x.tlog.size` and the
//! witness's size when the old size is not its latest; 400, 403, 404, 409 (a root other than
//! the one cosigned at that size) and 422 with a short reason; 413 for a body above
//! [`MAX_BODY_BYTES`]; 405 for another method and 404 for another path.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use certlog_log::witness::{
    SIZE_CONTENT_TYPE, WitnessError, format_cosignatures, format_size_body,
};

use crate::{AddError, Witness};

/// The largest request body: 63 proof lines and a checkpoint with many cosignatures fit in a
/// few KiB.
pub const MAX_BODY_BYTES: usize = 64 << 10;

const TEXT: &str = "text/plain; charset=utf-8";

/// The routes of the witness.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(witness)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /add-checkpoint`.
async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    // Signature checks, proofs and the synced write of the state: off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        let answer = witness.add_checkpoint(&body);
        (answer, body)
    })
    .await;
    let (answer, body) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!("add-checkpoint failed: {e}");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT,
                "internal error\n".into(),
            );
        }
    };
    let error = match answer {
        Ok(cosignatures) => {
            return text(StatusCode::OK, TEXT, format_cosignatures(&cosignatures));
        }
        Err(error) => error,
    };
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match &error {
        AddError::Refused(
            e @ (WitnessError::RootMismatch { .. } | WitnessError::InconsistentProof { .. }),
        ) => {
            // Validly signed by the log, yet not consistent with what the witness cosigned:
            // possibly evidence of a fork, kept in the log.
            tracing::warn!(
                reason = %e,
                request = %String::from_utf8_lossy(&body),
                "refused a signed checkpoint"
            );
        }
        AddError::Refused(e) => tracing::info!(status = status.as_u16(), reason = %e, "refused"),
        AddError::Storage(_) | AddError::Cosign(_) => tracing::error!("{error}"),
    }
    let witness_size = match &error {
        AddError::Refused(e) => e.witness_size(),
        _ => None,
    };
    if let Some(size) = witness_size {
        return text(status, SIZE_CONTENT_TYPE, format_size_body(size));
    }
    text(status, TEXT, format!("{error}\n"))
}

/// Anything but `/add-checkpoint`.
async fn not_found(request: axum::extract::Request) -> Response {
    text(
        StatusCode::NOT_FOUND,
        TEXT,
        format!(
            "no resource {}: the witness serves POST /add-checkpoint\n",
            request.uri().path()
        ),
    )
}

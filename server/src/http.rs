//! C2SP tlog-tiles over HTTP/1.1 on the gRPC port: `GET /checkpoint`,
//! `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`; and the Prometheus
//! metrics on `GET /metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use certlog_log::TileId;

use crate::log::Log;

/// Tiles never change once served: cache them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint changes with every batch: a few seconds at most.
const SHORT: &str = "public, max-age=2";

/// The routes of the tile API.
pub fn router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(log)
}

/// Another method than GET or HEAD on a resource of the tile API (axum adds `Allow`).
async fn method_not_allowed(request: axum::extract::Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} is not allowed on {}: it is read with GET (or HEAD)",
            request.method(),
            request.uri().path()
        ),
    )
}

fn response(content_type: &'static str, cache: &'static str, body: impl Into<Bytes>) -> Response {
    let body: Bytes = body.into();
    let mut r = body.into_response();
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        message + "\n",
    )
        .into_response()
}

async fn checkpoint(State(log): State<Arc<Log>>) -> Response {
    let text = log.current_checkpoint();
    response("text/plain; charset=utf-8", SHORT, text.into_bytes())
}

async fn metrics(State(log): State<Arc<Log>>) -> Response {
    let text = log.metrics().encode();
    response(
        "text/plain; version=0.0.4; charset=utf-8",
        "no-store",
        text.into_bytes(),
    )
}

async fn tile(State(log): State<Arc<Log>>, Path(path): Path<String>) -> Response {
    let tile = match TileId::parse_path(&format!("tile/{path}")) {
        Ok(tile) => tile,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match log.tile(tile) {
        Ok(Some(bytes)) => response("application/octet-stream", IMMUTABLE, bytes),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("{tile} is not in the log at its published size"),
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Anything else: 404 for HTTP, and gRPC's "unimplemented" for a gRPC call of an unknown method.
pub async fn not_found(request: axum::extract::Request) -> Response {
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let path = request.uri().path();
    if grpc {
        return tonic::Status::unimplemented(format!("no method {path}")).into_http();
    }
    error(
        StatusCode::NOT_FOUND,
        format!("no resource {path}: certlogd serves /checkpoint and /tile/..."),
    )
}

//! Reading a request body with the configured size limit: the one place every endpoint (AWS
//! JSON, STS, Canopy API) reads its body.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// Larger than the limit (declared by Content-Length, or found while reading).
    TooLarge,
    /// The connection failed or the body was malformed on the wire.
    Unreadable,
}

/// The message of a too-large answer, the same on every endpoint.
pub(crate) fn too_large_message(max: usize) -> String {
    format!("Request body is larger than the limit of {max} bytes")
}

/// The most of a refused body read (and dropped) before answering, and how long that may take.
/// A client that sends its whole body before it reads (botocore, http.client) would otherwise
/// see the connection reset instead of the 413 once the body outgrows the sockets' buffers.
const DRAIN_BYTES: u64 = 32 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The whole body, at most `max` bytes. A declared Content-Length over the limit is refused
/// without keeping anything: up to [`DRAIN_BYTES`] of it are read and dropped first.
pub(crate) async fn read_bounded(parts: &Parts, body: Body, max: usize) -> Result<Bytes, BodyError> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|n| *n > max as u64) {
        if declared <= DRAIN_BYTES {
            let _ = tokio::time::timeout(DRAIN_TIME, discard(body)).await;
        }
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(e) => {
            tracing::debug!(error = %e, "failed to read request body");
            Err(BodyError::Unreadable)
        }
    }
}

/// Reads `body` to its end and drops it.
async fn discard(mut body: Body) {
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return;
        }
    }
}

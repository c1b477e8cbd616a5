//! Reading a request body with the configured size limit: the one place every endpoint (AWS
//! JSON, STS, Canopy API) reads its body.

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

/// The whole body, at most `max` bytes. A declared Content-Length over the limit is refused
/// before anything is read.
pub(crate) async fn read_bounded(parts: &Parts, body: Body, max: usize) -> Result<Bytes, BodyError> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
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

//! Reading a request body with the configured size limit: the one place every endpoint (AWS
//! JSON, STS, Canopy API) reads its body.

use std::time::Duration;

use axum::body::{Body, Bytes};
use canopy_api::ErrorCode;
use axum::http::header::{CONTENT_LENGTH, EXPECT};
use axum::http::StatusCode;
use axum::http::request::Parts;
use http_body_util::BodyExt;

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// Larger than the limit (declared by Content-Length, or found while reading).
    TooLarge,
    /// The connection failed or the body was malformed on the wire.
    Unreadable,
    /// The whole body did not arrive in time (the server's read timeout).
    TimedOut(Duration),
}

impl BodyError {
    /// The error code of the answer on the awsJson1.1 endpoints (Organizations, Canopy's own API;
    /// STS names these its own way).
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            BodyError::TooLarge => ErrorCode::RequestEntityTooLargeException,
            BodyError::Unreadable => ErrorCode::SerializationException,
            BodyError::TimedOut(_) => ErrorCode::RequestTimeoutException,
        }
    }

    /// The HTTP status of the answer, the same on every endpoint.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable => StatusCode::BAD_REQUEST,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// The answer's message; `max` is the size limit.
    pub(crate) fn message(&self, max: usize) -> String {
        match self {
            BodyError::TooLarge => format!("Request body is larger than the limit of {max} bytes"),
            BodyError::Unreadable => "Could not read the request body".to_string(),
            BodyError::TimedOut(limit) => format!("The request body did not arrive within {} s", limit.as_secs_f64()),
        }
    }
}

/// The most of a refused body read (and dropped) before answering, and how long that may take.
/// A client that sends its whole body before it reads (botocore, http.client) would otherwise
/// see the connection reset instead of the 413 once the body outgrows the sockets' buffers.
const DRAIN_BYTES: u64 = 32 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// A refused body's draining also stops when nothing has come for this long: a client that
/// declared a large body and sends nothing more is waiting for the answer.
const DRAIN_IDLE: Duration = Duration::from_millis(200);

/// The whole body, at most `max` bytes. A body over the limit is refused without keeping
/// anything; before answering, up to [`DRAIN_BYTES`] of it (counted from its start) are read and
/// dropped, whether its length was declared or it came chunked, unless the client asked to
/// hear first (`Expect: 100-continue`): then it is answered at once and never invited to send.
/// A body that has not all arrived within `limit` of its headers is given up: a client that
/// stalls half-way would otherwise hold its connection for ever. The draining of a refused body
/// is not part of that time: a body found too large is answered 413, never 408.
pub(crate) async fn read_bounded(parts: &Parts, body: Body, max: usize, limit: Duration) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(limit, read_all(parts, body, max)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(Refused::TooLarge { rest, read })) => {
            let expects_continue = parts
                .headers
                .get(EXPECT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
            if !expects_continue && read < DRAIN_BYTES {
                let _ = tokio::time::timeout(DRAIN_TIME.min(limit), discard(rest, DRAIN_BYTES - read)).await;
            }
            Err(BodyError::TooLarge)
        }
        Ok(Err(Refused::Unreadable)) => Err(BodyError::Unreadable),
        Err(_) => Err(BodyError::TimedOut(limit)),
    }
}

/// Why [`read_all`] stopped short: a body over the limit comes back with what is left of it and
/// how much was already read, for the draining.
enum Refused {
    TooLarge { rest: Body, read: u64 },
    Unreadable,
}

async fn read_all(parts: &Parts, mut body: Body, max: usize) -> Result<Bytes, Refused> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|n| *n > max as u64) {
        // Nothing read yet; a declared length beyond what is drained is not drained at all.
        let read = if declared <= DRAIN_BYTES { 0 } else { DRAIN_BYTES };
        return Err(Refused::TooLarge { rest: body, read });
    }
    // Usually one frame, kept as it came; several are joined at the end.
    let mut chunks: Vec<Bytes> = Vec::with_capacity(1);
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            tracing::debug!(error = %e, "failed to read request body");
            Refused::Unreadable
        })?;
        let Ok(data) = frame.into_data() else { continue };
        len += data.len();
        if len > max {
            return Err(Refused::TooLarge { rest: body, read: len as u64 });
        }
        chunks.push(data);
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    })
}

/// Reads `body` to its end and drops it, or stops once more than `limit` bytes have come or
/// nothing has come for [`DRAIN_IDLE`].
async fn discard(mut body: Body, limit: u64) {
    let mut read = 0u64;
    while let Ok(Some(frame)) = tokio::time::timeout(DRAIN_IDLE, body.frame()).await {
        match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => {
                read += data.len() as u64;
                if read > limit {
                    return;
                }
            }
            Ok(Err(_trailers)) => {}
            Err(_) => return,
        }
    }
}

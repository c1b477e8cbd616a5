//! Reading a request body with the configured size limit: the one place every endpoint (AWS
//! JSON, STS, Canopy API) reads its body.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

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

/// The memory request bodies may hold at once, over all connections. Each body's first
/// [`FREE_BYTES`] are not counted, so ordinary requests (a few KiB) never wait; beyond that a
/// body takes its bytes from the budget as they arrive and gives them back once read. When the
/// budget is spent, reading waits (the rest stays in the sockets, and the read timeout still
/// runs): a thousand clients that each send most of a 1 MiB body and stall would otherwise hold
/// a gigabyte.
pub(crate) struct BodyBudget {
    bytes: Semaphore,
    capacity: usize,
}

/// The bytes of every body that are not counted against the [`BodyBudget`].
const FREE_BYTES: usize = 64 * 1024;

impl BodyBudget {
    pub(crate) fn new(bytes: usize) -> Self {
        let capacity = bytes.min(Semaphore::MAX_PERMITS).min(u32::MAX as usize);
        BodyBudget { bytes: Semaphore::new(capacity), capacity }
    }

    /// Waits for `bytes` more of the budget, added to `held`.
    async fn take<'a>(&'a self, bytes: usize, held: &mut Option<SemaphorePermit<'a>>) -> Result<(), Refused> {
        // More than the whole budget can never be granted; such a body is refused as too large.
        let holding = held.as_ref().map_or(0, |p| p.num_permits());
        if holding + bytes > self.capacity {
            return Err(Refused::OverBudget);
        }
        let permit = self.bytes.acquire_many(bytes as u32).await.map_err(|_| Refused::OverBudget)?;
        match held {
            Some(h) => h.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
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
pub(crate) async fn read_bounded(parts: &Parts, body: Body, max: usize, limit: Duration, budget: &BodyBudget) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(limit, read_all(parts, body, max, budget)).await {
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
        Ok(Err(Refused::OverBudget)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::TimedOut(limit)),
    }
}

/// Why [`read_all`] stopped short: a body over the limit comes back with what is left of it and
/// how much was already read, for the draining.
enum Refused {
    TooLarge { rest: Body, read: u64 },
    Unreadable,
    /// Larger than the whole [`BodyBudget`]: it could never be held.
    OverBudget,
}

async fn read_all(parts: &Parts, mut body: Body, max: usize, budget: &BodyBudget) -> Result<Bytes, Refused> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|n| *n > max as u64) {
        // Nothing read yet; a declared length beyond what is drained is not drained at all.
        let read = if declared <= DRAIN_BYTES { 0 } else { DRAIN_BYTES };
        return Err(Refused::TooLarge { rest: body, read });
    }
    // Usually one frame, kept as it came; several are joined at the end.
    let mut chunks: Vec<Bytes> = Vec::with_capacity(1);
    let mut len = 0usize;
    // The budget this body holds; given back when the body has been read (or refused).
    let mut held: Option<SemaphorePermit<'_>> = None;
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
        let counted = held.as_ref().map_or(0, |p| p.num_permits());
        let owed = len.saturating_sub(FREE_BYTES).saturating_sub(counted);
        chunks.push(data);
        if owed > 0 {
            budget.take(owed, &mut held).await?;
        }
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

//! The outermost layer: request id, panic → opaque 500, one log line and the metrics per request.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::handlers::error_response;
use crate::SharedState;

pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The request id, as handlers see it (request extension).
#[derive(Clone, Copy)]
pub(crate) struct RequestId(pub Uuid);

impl RequestId {
    pub fn to_hyphenated(self) -> String {
        let mut buf = Uuid::encode_buffer();
        self.0.hyphenated().encode_lower(&mut buf).to_owned()
    }
}

/// What a handler tells the log line about the request (response extension).
#[derive(Clone, Default)]
pub(crate) struct Outcome {
    pub operation: Option<&'static str>,
    pub account: Option<String>,
    pub error: Option<&'static str>,
}

pub(crate) async fn observe(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = state.metrics.start();
    let id = Uuid::new_v4();
    let method = req.method().clone();
    let uri = req.uri().clone();
    req.extensions_mut().insert(RequestId(id));

    let mut response = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("<non-string panic payload>");
            tracing::error!(target: "canopy::request", request_id = %id.hyphenated(), panic = detail, "handler panicked");
            let mut r = error_response(&canopy_api::ApiError::internal());
            r.extensions_mut().insert(Outcome { error: Some(canopy_api::ApiError::internal().code.as_str()), ..Default::default() });
            r
        }
    };

    let mut buf = Uuid::encode_buffer();
    let id_str = id.hyphenated().encode_lower(&mut buf);
    if let Ok(value) = HeaderValue::from_str(id_str) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }

    let outcome = response.extensions_mut().remove::<Outcome>().unwrap_or_default();
    let status = response.status().as_u16();
    let latency = start.elapsed();
    let latency_us = latency.as_micros() as u64;
    state.metrics.record(outcome.operation, status, outcome.error, latency);
    macro_rules! request_line {
        ($level:ident) => {
            tracing::$level!(
                target: "canopy::request",
                method = %method,
                path = %uri.path(),
                operation = %outcome.operation.unwrap_or("-"),
                account = %outcome.account.as_deref().unwrap_or("-"),
                status,
                error = %outcome.error.unwrap_or("-"),
                latency_us,
                request_id = %id_str,
            )
        };
    }
    // A failure of Canopy's own (5xx) is an error, and shows under a filter that hides the
    // ordinary request lines (`canopy::request=warn`).
    if status >= 500 {
        request_line!(error);
    } else {
        request_line!(info);
    }
    response
}

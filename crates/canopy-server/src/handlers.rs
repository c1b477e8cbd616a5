//! Route handlers.

use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use canopy_api::{ApiError, ErrorCode, Operation, RequestContext};

use crate::body::read_bounded;
use crate::observe::{Outcome, RequestId};
use crate::{auth, SharedState, TARGET_PREFIX};

static AMZ_JSON: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.1");
static PROMETHEUS_TEXT: HeaderValue = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
static APP_JSON: HeaderValue = HeaderValue::from_static("application/json");
static ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// An AWS JSON error answer: `err.http_status()`, `err.to_json_body()`, `x-amzn-ErrorType`.
pub(crate) fn error_response(err: &ApiError) -> Response {
    let status = match err.code {
        // AWS answers a missing/unverifiable signature with 403, whatever the model's default.
        ErrorCode::MissingAuthenticationTokenException => StatusCode::FORBIDDEN,
        _ => StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
    };
    let mut response = Response::new(Body::from(err.to_json_body()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, AMZ_JSON.clone());
    headers.insert(ERROR_TYPE.clone(), HeaderValue::from_static(err.code.as_str()));
    response
}

fn failed(err: ApiError, operation: Option<&'static str>, account: Option<String>) -> Response {
    let mut response = error_response(&err);
    response.extensions_mut().insert(Outcome { operation, account, error: Some(err.code.as_str()) });
    response
}

/// An authentication failure in awsJson1.1: `{"__type": …, "Message": …}` with AWS's status.
fn auth_failed(answer: auth::AuthAnswer, op_name: &'static str) -> Response {
    let body = serde_json::json!({ "__type": answer.code, "Message": answer.message });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, AMZ_JSON.clone());
    headers.insert(ERROR_TYPE.clone(), HeaderValue::from_static(answer.code));
    response.extensions_mut().insert(Outcome { operation: Some(op_name), account: None, error: Some(answer.code) });
    response
}

/// `POST /`: Organizations (awsJson1.1, `X-Amz-Target`) or STS (a form body without one).
pub(crate) async fn post_root(
    state: State<SharedState>,
    request_id: Extension<RequestId>,
    request: Request,
) -> Response {
    if !request.headers().contains_key(&X_AMZ_TARGET) && crate::sts::is_form(request.headers()) {
        return crate::sts::sts(state, request_id, request).await;
    }
    aws_json(state, request_id, request).await
}

/// `POST /`: one Organizations operation in awsJson1.1.
pub(crate) async fn aws_json(
    State(state): State<SharedState>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();

    // 1. Which operation. Repeated, the header is ambiguous (one proxy reads the first value,
    // another the last or all of them joined): it names no operation.
    if parts.headers.get_all(&X_AMZ_TARGET).iter().nth(1).is_some() {
        let message = "Multiple X-Amz-Target headers: send exactly one, AWSOrganizationsV20161128.<Operation>".to_owned();
        return failed(ApiError::new(ErrorCode::UnknownOperationException, message), None, None);
    }
    let target = parts.headers.get(&X_AMZ_TARGET);
    let operation = target
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .and_then(Operation::from_name);
    let Some(operation) = operation else {
        let message = match target {
            None => "Missing X-Amz-Target header: expected AWSOrganizationsV20161128.<Operation>".to_owned(),
            Some(t) => format!(
                "Unknown operation {:?}: expected X-Amz-Target AWSOrganizationsV20161128.<Operation>",
                String::from_utf8_lossy(t.as_bytes())
            ),
        };
        return failed(ApiError::new(ErrorCode::UnknownOperationException, message), None, None);
    };
    let op_name = operation.name();

    // 2. The body, bounded.
    let max = state.config.max_body_bytes;
    let body = match read_bounded(&parts, body, max, state.config.read_timeout, &state.body_budget).await {
        Ok(body) => body,
        Err(e) => return failed(ApiError::new(e.code(), e.message(max)), Some(op_name), None),
    };

    // 3. Who is calling (strict auth verifies the signature, which covers the body).
    let caller = match auth::authenticate(&state, &parts, &body, auth::ORGANIZATIONS).await {
        Ok(identity) => identity.caller,
        Err(f) => return auth_failed(f.json(), op_name),
    };
    let account = Some(caller.account_id.clone());
    // Operations without input may come with no body at all.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };

    // 4. Run it.
    let ctx = RequestContext { caller, request_id: request_id.to_hyphenated() };
    match canopy_api::dispatch(&state.canopy, &ctx, operation, body).await {
        Ok(output) => {
            let mut response = Response::new(Body::from(output));
            response.headers_mut().insert(CONTENT_TYPE, AMZ_JSON.clone());
            response.extensions_mut().insert(Outcome { operation: Some(op_name), account, error: None });
            response
        }
        Err(err) => failed(err, Some(op_name), account),
    }
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, APP_JSON.clone());
    response
}

/// How long `GET /canopy/v1/health` waits for the store's answer.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /canopy/v1/health`: 200 when the store answers a read transaction within
/// [`HEALTH_TIMEOUT`] and accepts writes, else 503, so that a load balancer (or a supervisor)
/// stops sending requests to a replica whose database it cannot reach or write.
pub(crate) async fn health(State(state): State<SharedState>) -> Response {
    let store = state.canopy.store();
    let kind = store.kind();
    if let Some(failure) = store.failure() {
        let body = serde_json::json!({"status": "unavailable", "store": kind, "reason": failure});
        return json(StatusCode::SERVICE_UNAVAILABLE, body.to_string());
    }
    // A key lookup in a real table, not an empty transaction: a schema dropped under the
    // server (PostgreSQL) fails it.
    let probe = store.read(Box::new(|tx| {
        tx.org_get("o-healthcheck")?;
        Ok(Box::new(()) as Box<dyn std::any::Any + Send>)
    }));
    let problem = match tokio::time::timeout(HEALTH_TIMEOUT, probe).await {
        Ok(Ok(_)) => return json(StatusCode::OK, format!(r#"{{"status":"ok","store":"{kind}"}}"#)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store could not be read");
            "the store could not be read"
        }
        Err(_) => {
            tracing::warn!(timeout_ms = HEALTH_TIMEOUT.as_millis() as u64, "health check: the store did not answer in time");
            "the store did not answer in time"
        }
    };
    json(StatusCode::SERVICE_UNAVAILABLE, format!(r#"{{"status":"unavailable","store":"{kind}","reason":"{problem}"}}"#))
}

/// `GET /canopy/v1/metrics`: request counts, error codes and latency per operation, in
/// Prometheus's text format.
pub(crate) async fn metrics(State(state): State<SharedState>) -> Response {
    let text = state.metrics.render(&[
        ("version", env!("CARGO_PKG_VERSION")),
        ("store", state.canopy.store().kind()),
        ("auth", state.config.auth.as_str()),
    ]);
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(CONTENT_TYPE, PROMETHEUS_TEXT.clone());
    response
}

/// `POST /canopy/v1/reset` and `POST /moto-api/reset` (dev auth only).
pub(crate) async fn reset(State(state): State<SharedState>) -> Response {
    let result = state.canopy.store().reset().await;
    // Keys the reset deleted must not keep resolving from memory.
    state.keys.clear();
    match result {
        Ok(()) => {
            tracing::info!("store reset");
            json(StatusCode::OK, r#"{"reset":true}"#)
        }
        Err(e) => {
            tracing::error!(error = %e, "store reset failed");
            let err = ApiError::internal();
            let mut response = error_response(&err);
            response.extensions_mut().insert(Outcome { error: Some(err.code.as_str()), ..Default::default() });
            response
        }
    }
}

/// A known path with the wrong method (`PUT /`, say): 405 in the same AWS error shape as
/// [`not_found`], so SDKs parse a code and a message instead of a bare status.
pub(crate) async fn method_not_allowed(request: Request) -> Response {
    let message = format!("Method {} is not allowed on {}; the Allow header lists the methods it takes.", request.method(), request.uri().path());
    unrouted(StatusCode::METHOD_NOT_ALLOWED, message)
}

/// Any other path: 404 in the AWS error shape, so an SDK reports a typed error.
pub(crate) async fn not_found(request: Request) -> Response {
    let message = format!("No route for {} {}: the AWS Organizations API is POST /, Canopy's own under /canopy/v1/.", request.method(), request.uri().path());
    unrouted(StatusCode::NOT_FOUND, message)
}

/// A request no route takes: `UnknownOperationException` with `status`.
fn unrouted(status: StatusCode, message: String) -> Response {
    let mut response = failed(ApiError::new(ErrorCode::UnknownOperationException, message), None, None);
    *response.status_mut() = status;
    response
}

//! Canopy's HTTP front end.
//!
//! - `POST /` with `X-Amz-Target: AWSOrganizationsV20161128.<Op>`: the AWS Organizations
//!   awsJson1.1 protocol, handed to [`canopy_api::dispatch`] over a [`canopy_core::Canopy`].
//! - `POST /` with a form body and no `X-Amz-Target`, or `GET /?Action=…`: STS (awsQuery,
//!   `sts.rs`): GetCallerIdentity and AssumeRole.
//! - `GET /canopy/v1/health`, `GET /canopy/v1/metrics` (Prometheus text), and in `dev` auth only `POST /canopy/v1/reset` and its moto alias
//!   `POST /moto-api/reset`.
//!
//! Every response carries `x-amzn-RequestId`; every request produces one `tracing` event with
//! target `canopy::request`; a panic in a handler becomes an opaque 500 ServiceException.
//! The server does not know which database is in use (the `testing` module picks the memory
//! store for tests).

mod auth;
mod body;
mod canopy_api;
mod handlers;
mod metrics;
mod observe;
mod stall;
pub mod secrets;
mod sts;
pub mod testing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use canopy_core::Canopy;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

pub use auth::resolve_caller;
pub use secrets::MasterKey;
pub use sts::iso8601;

/// The target prefix of every Organizations operation in `X-Amz-Target`.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";
/// How long [`serve`] lets in-flight requests finish after the shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ServerConfig::read_timeout`]. AWS's own front ends close idle connections after
/// about a minute as well, and SDKs reconnect.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most a connection's read buffer holds (hyper's `max_buf_size`); also the largest request
/// head (request line and headers) accepted.
const MAX_CONNECTION_BUFFER: usize = 64 * 1024;
/// Default [`ServerConfig::max_body_memory`]: 128 MiB.
pub const DEFAULT_MAX_BODY_MEMORY: usize = 128 * 1024 * 1024;

/// How callers are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// SigV4 credentials are parsed, not verified: a 12-digit access key id is the caller's
    /// account, anything else (or nothing) is the default account.
    #[default]
    Dev,
    /// SigV4 (header or presigned query) must verify against credentials Canopy issued;
    /// nothing is accepted unsigned, and the reset endpoints do not exist.
    Strict,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Dev => "dev",
            AuthMode::Strict => "strict",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub auth: AuthMode,
    /// The account of callers whose access key id is not 12 digits (dev auth).
    pub default_account: String,
    /// Larger request bodies are refused with 413 RequestEntityTooLargeException.
    pub max_body_bytes: usize,
    /// How many bytes of request bodies beyond each body's first 64 KiB may be held at once,
    /// over all connections; past it, bodies wait (see `body::BodyBudget`).
    pub max_body_memory: usize,
    /// How long a client may take to send a request's headers, and then its body (see
    /// [`serve`]); also how long a kept-alive connection may sit idle.
    pub read_timeout: Duration,
    /// Seals and opens issued secrets. Strict auth needs the key the credentials were issued
    /// under; without one (dev auth, tests) a fresh key is made for the process.
    pub master_key: Option<MasterKey>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            auth: AuthMode::Dev,
            default_account: "123456789012".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_body_memory: DEFAULT_MAX_BODY_MEMORY,
            read_timeout: DEFAULT_READ_TIMEOUT,
            master_key: None,
        }
    }
}

pub(crate) struct AppState {
    pub canopy: Canopy,
    pub config: ServerConfig,
    pub master_key: MasterKey,
    pub keys: auth::KeyCache,
    pub metrics: metrics::Metrics,
    pub body_budget: body::BodyBudget,
}

pub(crate) type SharedState = Arc<AppState>;

/// The full HTTP application.
pub fn router(canopy: Canopy, config: ServerConfig) -> Router {
    let auth = config.auth;
    let master_key = auth::master_key_or_ephemeral(config.master_key.clone());
    let state: SharedState =
        Arc::new(AppState {
            body_budget: body::BodyBudget::new(config.max_body_memory),
            canopy,
            config,
            master_key,
            keys: auth::KeyCache::default(),
            metrics: metrics::Metrics::new(),
        });
    let mut router = Router::new()
        .route("/", post(handlers::post_root).get(sts::sts))
        .route("/canopy/v1/health", get(handlers::health))
        .route("/canopy/v1/metrics", get(handlers::metrics));
    router = canopy_api::routes(router);
    if auth == AuthMode::Dev {
        router = router
            .route("/canopy/v1/reset", post(handlers::reset))
            .route("/moto-api/reset", post(handlers::reset));
    }
    router
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), observe::observe))
        .with_state(state)
}

/// The address a request's connection came from, as the accept loop saw it (IPv4-mapped IPv6
/// addresses in their IPv4 form).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub std::net::IpAddr);

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting connections
/// and lets in-flight requests finish for at most [`DRAIN_TIMEOUT`].
///
/// HTTP/1.1 only, as AWS SDKs speak to a plain `http://` endpoint. A connection that takes more
/// than `read_timeout` (the [`ServerConfig`]'s) to send a request's headers is closed; on a
/// kept-alive connection the wait counts from the previous answer, so that is also the idle
/// limit. The body is bounded by the same time where it is read, and so is an answer the client
/// does not take ([`stall::WriteDeadline`]). Without these, a client that stops half-way (or
/// pipelines requests and never reads) holds its socket for ever, and a few thousand of them
/// exhaust the process's file descriptors and memory.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    // half_close: a client may shut its sending side once its request is out (`nc -N`, socat,
    // `printf … | …`) and still read the answer; without it hyper drops the request unanswered.
    http.timer(TokioTimer::new()).header_read_timeout(read_timeout).half_close(true);
    // A connection's read buffer (hyper's default grows to about 400 KiB): body frames are
    // slices of it, so a body held while it waits for the body budget (`body::BodyBudget`)
    // keeps whole buffers alive. 64 KiB keeps that, and the largest request head, small.
    http.max_buf_size(MAX_CONNECTION_BUFFER);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small request/response pairs: never wait on Nagle.
        let _ = tcp.set_nodelay(true);
        // Every request on the connection carries the client's address (aws:SourceIp).
        let client = ClientAddr(peer.ip().to_canonical());
        let service = router.clone().map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(client);
            request
        });
        let io = TokioIo::new(stall::WriteDeadline::new(tcp, read_timeout));
        let connection = connections.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutdown requested; draining in-flight requests");
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(drain_secs = DRAIN_TIMEOUT.as_secs_f64(), "in-flight requests did not finish in time; closing them");
        }
    }
    Ok(())
}

/// An `accept` that failed: a connection reset before it was taken is nothing; anything else
/// (out of file descriptors, say) is logged and retried after a pause rather than spun on.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(e.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

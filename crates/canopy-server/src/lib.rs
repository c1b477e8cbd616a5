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
pub mod secrets;
mod sts;
pub mod testing;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use canopy_core::Canopy;

pub use auth::resolve_caller;
pub use secrets::MasterKey;
pub use sts::iso8601;

/// The target prefix of every Organizations operation in `X-Amz-Target`.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";
/// How long [`serve`] lets in-flight requests finish after the shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

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
}

pub(crate) type SharedState = Arc<AppState>;

/// The full HTTP application.
pub fn router(canopy: Canopy, config: ServerConfig) -> Router {
    let auth = config.auth;
    let master_key = auth::master_key_or_ephemeral(config.master_key.clone());
    let state: SharedState =
        Arc::new(AppState { canopy, config, master_key, keys: auth::KeyCache::default(), metrics: metrics::Metrics::new() });
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

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting connections
/// and lets in-flight requests finish for at most [`DRAIN_TIMEOUT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_drain(listener, router, shutdown, DRAIN_TIMEOUT).await
}

/// [`serve`] with a chosen drain bound.
pub async fn serve_with_drain(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutdown requested; draining in-flight requests");
        let _ = signalled_tx.send(());
    };
    let listener = listener.tap_io(|tcp| {
        // Small request/response pairs: never wait on Nagle.
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router).with_graceful_shutdown(signal).into_future();
    let deadline = async move {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(drain).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(drain_secs = drain.as_secs_f64(), "in-flight requests did not finish in time; closing them");
            Ok(())
        }
    }
}

//! A real server on an ephemeral port for integration tests (AWS SDK, raw HTTP).
//!
//! ```ignore
//! let server = canopy_server::testing::TestServer::start().await;
//! let config = aws_config::defaults(BehaviorVersion::latest())
//!     .endpoint_url(&server.endpoint) /* … */ .load().await;
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use canopy_core::{Canopy, Clock, CoreConfig, Env, RandomIds, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{router, serve, ServerConfig};

/// A Canopy server on `127.0.0.1:<ephemeral>`, served by a background task on the current tokio
/// runtime, shut down when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub addr: SocketAddr,
    /// The service behind the server (shares the store): inspect or seed state directly.
    pub canopy: Canopy,
    /// The PostgreSQL scratch schema behind `canopy` (see [`TestServer::start`]); dropped last.
    scratch: Option<canopy_store::PgScratch>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Memory store (or PostgreSQL, see below), default [`CoreConfig`], dev auth.
    pub async fn start() -> TestServer {
        Self::start_with(CoreConfig::default()).await
    }

    /// Memory store, dev auth, the given domain settings. When `CANOPY_TEST_POSTGRES` holds a
    /// postgres:// URL, the store is PostgreSQL instead: a fresh schema in that database,
    /// dropped with the server, so the same suites run on both backends.
    pub async fn start_with(config: CoreConfig) -> TestServer {
        let (store, scratch) = test_store();
        let mut server = Self::start_with_store(store, config).await;
        server.scratch = scratch;
        server
    }

    /// As [`TestServer::start_with`] (memory or PostgreSQL), with an injected clock, for tests
    /// that move time, and the given server settings (auth mode...).
    pub async fn start_with_clock(config: CoreConfig, clock: Arc<dyn Clock>, server: ServerConfig) -> TestServer {
        let (store, scratch) = test_store();
        let canopy = Canopy::with_env(store, Env { config, clock, ids: Arc::new(RandomIds) });
        let mut server = Self::start_with_server_config(canopy, server).await;
        server.scratch = scratch;
        server
    }

    /// The given store, dev auth.
    pub async fn start_with_store(store: Arc<dyn Store>, config: CoreConfig) -> TestServer {
        Self::start_with_server_config(Canopy::new(store, config), ServerConfig::default()).await
    }

    /// Full control: any `Canopy` and any server settings (auth mode, default account, body limit).
    pub async fn start_with_server_config(canopy: Canopy, server: ServerConfig) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let read_timeout = server.read_timeout;
        let app = router(canopy.clone(), server);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = serve(listener, app, read_timeout, shutdown).await {
                tracing::error!(error = %e, "test server failed");
            }
        });
        TestServer { endpoint: format!("http://{addr}"), addr, canopy, scratch: None, shutdown: Some(tx), task }
    }

    /// Stops accepting connections and waits (at most the drain bound) for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The store of a test server: memory, or when `CANOPY_TEST_POSTGRES` holds a postgres:// URL, a
/// fresh schema in that database (returned too, to be dropped after the server).
fn test_store() -> (Arc<dyn Store>, Option<canopy_store::PgScratch>) {
    match std::env::var("CANOPY_TEST_POSTGRES").ok().filter(|u| !u.trim().is_empty()) {
        Some(base) => {
            let scratch = canopy_store::PgScratch::create(&base).expect("create a PostgreSQL scratch schema");
            let store = canopy_store::open(scratch.url()).expect("open the PostgreSQL store");
            (store, Some(scratch))
        }
        None => (canopy_store::open("memory").expect("open the memory store"), None),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Free the port at once; a test that wants a graceful stop calls `shutdown()`.
        self.task.abort();
    }
}

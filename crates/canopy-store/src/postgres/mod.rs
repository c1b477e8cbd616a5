//! The PostgreSQL store: a pool of worker threads, each owning one connection (the synchronous
//! `postgres` client must not run on an async thread), pulling jobs from one shared queue.
//!
//! Isolation — why SERIALIZABLE with retry, and not an organization row lock: a write closure
//! is opaque (the store cannot know which organization it will touch before it runs), and its
//! first reads (an OU by id, an account by id) happen before it could name a row to lock; a lock
//! taken after those reads would not protect them. SERIALIZABLE makes every write transaction
//! behave as if the writes ran one at a time, across all replicas, whatever they read first,
//! which is exactly the store.rs contract. A transaction that PostgreSQL aborts with a
//! serialization failure (40001), a deadlock (40P01) or predicate-lock memory exhausted (53200)
//! is rolled back and its closure re-run
//! (store.rs allows it), up to [`MAX_ATTEMPTS`] times or [`RETRY_BUDGET`]; after that the
//! request is answered `ConcurrentModificationException` (a 4xx the client may retry), never a
//! 500. To keep conflicts rare, writes to one organization queue behind an advisory lock (see
//! `run_op`): the lock is an optimization, SERIALIZABLE is what makes it correct. Reads run in REPEATABLE READ READ ONLY transactions: one snapshot, taken
//! after every write acknowledged before the read started; they never conflict.
//!
//! Durability: each write is one transaction committed with `synchronous_commit = on`.
//!
//! Failures: a lost connection is an opaque `StoreError::Backend` (the server answers 500
//! ServiceException, which SDKs retry) and the worker reconnects on its next job; a write whose
//! connection was lost or whose session the server ended before COMMIT is re-run instead. Nothing waits
//! without bound: connect timeout, TCP keepalives, `statement_timeout`, `lock_timeout`,
//! `idle_in_transaction_session_timeout`, and a bound on each request's wait for its worker.

mod schema;
mod tx;

use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls, Statement};
use tokio::sync::oneshot;

use canopy_api::{ApiError, ErrorCode};
use canopy_core::{BoxFuture, OpError, Store, StoreError, StoreResult, TxFn};

pub use schema::PG_MIGRATIONS;
use tx::PgTx;

/// Connections (and worker threads) per store.
pub const POOL_SIZE: usize = 8;
/// A write closure is run at most this many times when PostgreSQL reports conflicts.
pub const MAX_ATTEMPTS: u32 = 40;
/// … and retried for at most this long.
const RETRY_BUDGET: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Session settings of every connection: the server-side bounds that keep a request from
/// waiting forever, and durable commits whatever the server's default.
const SESSION_SQL: &str = "SET statement_timeout = '20s'; SET lock_timeout = '10s'; \
     SET idle_in_transaction_session_timeout = '60s'; SET synchronous_commit = on; \
     SET enable_seqscan = off";
// enable_seqscan = off: every query has an index; a sequential scan on a small table would take
// a relation-wide SERIALIZABLE predicate lock and make unrelated writers conflict.
/// How long a request waits for its answer before giving up (the worker's own bounds are shorter).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

type OpResult = Result<Box<dyn Any + Send>, OpError>;

enum Job {
    Read { f: TxFn, reply: oneshot::Sender<OpResult> },
    Write { f: TxFn, reply: oneshot::Sender<OpResult> },
    Reset { reply: oneshot::Sender<StoreResult<()>> },
    Migrate { reply: mpsc::Sender<StoreResult<usize>> },
}

/// A PostgreSQL-backed [`Store`]; build it with [`crate::open`] or [`PgStore::open`].
pub struct PgStore {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// One worker's connection and its prepared statements.
struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
}

/// The message of a PostgreSQL error (server errors with their SQLSTATE), never the URL.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            // The client's own errors keep their cause (e.g. "Connection refused") in the source chain.
            let mut msg = format!("PostgreSQL: {e}");
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let text = c.to_string();
                if !msg.contains(&text) {
                    msg.push_str(": ");
                    msg.push_str(&text);
                }
                cause = c.source();
            }
            msg
        }
    }
}

pub(crate) fn pg_err(e: postgres::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

/// An error after which the transaction is re-run: a serialization failure, a deadlock, or the
/// server out of shared memory for SERIALIZABLE's predicate locks (53200: another long-open
/// serializable transaction anywhere on the server holds them; it passes, and a 500 for every
/// write meanwhile was the answer before).
pub(crate) fn is_conflict(e: &postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::OUT_OF_MEMORY)
}

/// The server ended the session: an administrator (`pg_terminate_backend`, 57P01), a shutdown
/// (57P02, 57P03), or the connection closed. The error arrives before the client marks the
/// connection closed, so `is_closed` alone missed it.
pub(crate) fn ends_session(e: &postgres::Error) -> bool {
    e.is_closed()
        || matches!(e.code(), Some(c) if *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CRASH_SHUTDOWN || *c == SqlState::CANNOT_CONNECT_NOW)
}

/// Parses a `postgres://` URL and adds Canopy's client-side bounds.
fn config(url: &str) -> StoreResult<postgres::Config> {
    // The scheme is matched case-insensitively by `open`; the parser wants it in lower case.
    let url = match url.find("://") {
        Some(i) => format!("{}{}", url[..i].to_ascii_lowercase(), &url[i..]),
        None => url.to_string(),
    };
    // The parser's message does not include the URL (which may hold a password).
    let mut cfg = postgres::Config::from_str(&url).map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(CONNECT_TIMEOUT);
    }
    // A server that vanishes without closing the socket is noticed within about 25 s (idle
    // keepalives) or 30 s (unacknowledged data), not after the kernel's default of many minutes.
    cfg.keepalives(true).keepalives_idle(Duration::from_secs(10)).keepalives_interval(Duration::from_secs(5)).keepalives_retries(3);
    cfg.tcp_user_timeout(Duration::from_secs(30));
    if cfg.get_application_name().is_none() {
        cfg.application_name("canopy");
    }
    Ok(cfg)
}

fn connect(cfg: &postgres::Config) -> StoreResult<Conn> {
    let mut client =
        cfg.connect(NoTls).map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {}", describe(&e))))?;
    client.batch_execute(SESSION_SQL).map_err(pg_err)?;
    Ok(Conn { client, stmts: HashMap::new() })
}

/// Runs `f` on a plain thread: the synchronous client starts its own runtime, which must not
/// happen on a thread that is driving async tasks (tests and `open` are called from async code).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

impl PgStore {
    /// Connects, brings the schema up to date (safe when several replicas start at once) and
    /// starts the pool.
    pub fn open(url: &str) -> StoreResult<PgStore> {
        let cfg = config(url)?;
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let mut threads = Vec::with_capacity(POOL_SIZE);
        for i in 0..POOL_SIZE {
            let rx = jobs_rx.clone();
            let cfg = cfg.clone();
            let handle = std::thread::Builder::new()
                .name(format!("canopy-pg-{i}"))
                .spawn(move || worker(cfg, rx))
                .map_err(|e| StoreError::Backend(format!("cannot start a PostgreSQL worker thread: {e}")))?;
            threads.push(handle);
        }
        let store = PgStore { jobs: Some(jobs_tx), threads };
        let (reply, answer) = mpsc::channel();
        store.send(Job::Migrate { reply })?;
        let version = answer.recv().map_err(|_| StoreError::Closed)??;
        tracing::info!(host = ?cfg.get_hosts(), dbname = ?cfg.get_dbname(), version, "PostgreSQL store ready");
        Ok(store)
    }

    fn send(&self, job: Job) -> StoreResult<()> {
        self.jobs.as_ref().ok_or(StoreError::Closed)?.send(job).map_err(|_| StoreError::Closed)
    }
}

/// Connects and migrates without starting a pool (`canopy migrate`). Returns the schema version.
pub fn migrate(url: &str) -> StoreResult<usize> {
    let cfg = config(url)?;
    off_runtime(move || {
        let mut conn = connect(&cfg)?;
        schema::migrate(&mut conn.client)
    })
}

fn worker(cfg: postgres::Config, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut slot: Option<Conn> = None;
    // The organization this worker's last write named: the next write queues behind it first.
    let mut guess: Option<String> = None;
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { break };
        match job {
            Job::Read { mut f, reply } => {
                let r = run_op(&cfg, &mut slot, &mut f, false, &mut None);
                drop(f);
                let _ = reply.send(r);
            }
            Job::Write { mut f, reply } => {
                let r = run_op(&cfg, &mut slot, &mut f, true, &mut guess);
                drop(f);
                let _ = reply.send(r);
            }
            Job::Reset { reply } => {
                let _ = reply.send(run_reset(&cfg, &mut slot));
            }
            Job::Migrate { reply } => {
                let r = conn(&cfg, &mut slot).and_then(|c| schema::migrate(&mut c.client));
                forget_if_closed(&mut slot);
                let _ = reply.send(r);
            }
        }
    }
    tracing::debug!("PostgreSQL worker exiting");
}

/// The worker's connection, (re)connecting when there is none or it was closed.
fn conn<'a>(cfg: &postgres::Config, slot: &'a mut Option<Conn>) -> StoreResult<&'a mut Conn> {
    if slot.as_ref().is_some_and(|c| c.client.is_closed()) {
        *slot = None;
    }
    if slot.is_none() {
        *slot = Some(connect(cfg)?);
    }
    Ok(slot.as_mut().expect("connected above"))
}

fn forget_if_closed(slot: &mut Option<Conn>) {
    if slot.as_ref().is_some_and(|c| c.client.is_closed()) {
        *slot = None;
    }
}

/// Opens a transaction. A pooled connection that died since its last use (the server
/// restarted) is replaced once: nothing was sent on it, so this is safe.
fn begin<'a>(cfg: &postgres::Config, slot: &'a mut Option<Conn>, sql: &str) -> StoreResult<&'a mut Conn> {
    let fresh = slot.is_none();
    let first = conn(cfg, slot)?.client.batch_execute(sql);
    if let Err(e) = first {
        *slot = None;
        if fresh {
            return Err(pg_err(e));
        }
        tracing::warn!(error = %describe(&e), "a pooled PostgreSQL connection failed; reconnecting");
        conn(cfg, slot)?.client.batch_execute(sql).map_err(pg_err)?;
    }
    Ok(slot.as_mut().expect("connected"))
}

fn rollback(slot: &mut Option<Conn>) {
    if let Some(c) = slot.as_mut() {
        if let Err(e) = c.client.batch_execute("ROLLBACK") {
            tracing::warn!(error = %describe(&e), "rollback failed; dropping the connection");
            *slot = None;
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

fn conflict_exhausted() -> OpError {
    OpError::Api(ApiError::new(
        ErrorCode::ConcurrentModificationException,
        "The target of the operation is currently being modified by a different request. Try again later.",
    ))
}

enum Attempt {
    Done(OpResult),
    /// A serialization conflict, or a connection lost before COMMIT: nothing was committed.
    /// Carries the organization the closure named first, if any.
    Retry(Option<String>),
    /// A unique violation: a concurrent insert of a key this run checked for, or a real
    /// duplicate. One re-run tells them apart (it sees the other insert, or fails again).
    Duplicate(Option<String>, OpError),
    /// The closure named another organization than the queue it ran behind: nothing was done.
    WrongQueue(Option<String>),
}

/// Runs a closure as one transaction, re-running it after serialization conflicts.
///
/// Writes to one organization queue behind a session-level advisory lock keyed by it, taken
/// before the transaction (and so its snapshot) begins: concurrent writers of one organization
/// then run one after the other instead of failing each other with serialization conflicts.
/// The store cannot know a closure's organization before running it, so a write is queued
/// behind the organization its worker's previous write named (`guess`); when the closure names
/// another one first, it stops at once and is re-run behind the right queue. A write with no
/// guess runs unqueued and joins its organization's queue only if it conflicts. Correctness
/// never rests on the lock (SERIALIZABLE alone is correct, including across organizations); it
/// only keeps the retries of a busy organization from thrashing.
fn run_op(cfg: &postgres::Config, slot: &mut Option<Conn>, f: &mut TxFn, writable: bool, guess: &mut Option<String>) -> OpResult {
    let start = Instant::now();
    let mut attempt = 0u32;
    let mut queue_org: Option<String> = if writable { guess.clone() } else { None };
    let mut duplicate_rerun = false;
    let (mut requeued, mut unqueued) = (false, false);
    loop {
        attempt += 1;
        let locked = match &queue_org {
            Some(org) if queue_is_stuck(org) => false,
            Some(org) => match lock_queue(cfg, slot, org) {
                Ok(true) => true,
                // The queue did not move within lock_timeout: its holder may be a paused or
                // hung replica, which would block the organization's writes on every replica
                // for as long as it stays so. The queue is only an optimization: this write
                // runs without it, and so do the organization's next ones for a while.
                Ok(false) => {
                    mark_queue_stuck(org);
                    false
                }
                Err(e) => return Err(e),
            },
            None => false,
        };
        let mut noted = None;
        let outcome = attempt_once(cfg, slot, f, writable, queue_org.as_deref().filter(|_| locked), &mut noted);
        if locked {
            unlock_queue(slot, queue_org.as_deref().unwrap_or_default());
        }
        if writable && noted.is_some() {
            guess.clone_from(&noted);
        }
        let (org, conflicted) = match outcome {
            Attempt::Done(r) => {
                if attempt > 1 {
                    tracing::debug!(attempt, "transaction succeeded after being re-run");
                }
                return r;
            }
            Attempt::Duplicate(_, e) if duplicate_rerun => return Err(e),
            Attempt::Duplicate(org, _) => {
                duplicate_rerun = true;
                (org, true)
            }
            Attempt::Retry(org) => (org, true),
            Attempt::WrongQueue(org) if requeued => {
                // The closure names a different organization on every run (one it creates, with
                // a fresh id): it cannot be queued, so it runs unqueued from now on.
                unqueued = true;
                (org, false)
            }
            Attempt::WrongQueue(org) => {
                requeued = true;
                (org, false)
            }
        };
        if attempt >= MAX_ATTEMPTS || start.elapsed() >= RETRY_BUDGET {
            tracing::warn!(attempt, "gave up after repeated serialization conflicts or lost connections");
            return Err(conflict_exhausted());
        }
        let org = org.unwrap_or_default();
        // Conflicting again behind the right queue (with a writer of another organization, or
        // an unqueued first run): back off a little before the next run.
        if conflicted && locked && queue_org.as_deref() == Some(org.as_str()) {
            std::thread::sleep(backoff(attempt));
        }
        queue_org = if unqueued { None } else { Some(org) };
    }
}

/// How long writes to an organization skip its queue after the queue did not move.
const STUCK_QUEUE_SKIP: Duration = Duration::from_secs(30);

/// Organizations whose queue did not move within `lock_timeout`, and when that was seen.
static STUCK_QUEUES: std::sync::Mutex<Vec<(String, Instant)>> = std::sync::Mutex::new(Vec::new());

fn queue_is_stuck(org: &str) -> bool {
    let mut stuck = STUCK_QUEUES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    stuck.retain(|(_, seen)| seen.elapsed() < STUCK_QUEUE_SKIP);
    stuck.iter().any(|(o, _)| o == org)
}

fn mark_queue_stuck(org: &str) {
    tracing::warn!(organization = org, "the organization's write queue did not move within lock_timeout; writing without it for 30 s");
    let mut stuck = STUCK_QUEUES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    stuck.push((org.to_string(), Instant::now()));
}

/// Takes the organization's queue lock: `Ok(false)` when it did not come within `lock_timeout`.
fn lock_queue(cfg: &postgres::Config, slot: &mut Option<Conn>, org: &str) -> Result<bool, OpError> {
    let key = format!("canopy-org:{org}");
    let fresh = slot.is_none();
    let mut r = conn(cfg, slot)?.client.execute("SELECT pg_advisory_lock(hashtext($1))", &[&key]);
    if r.as_ref().is_err_and(|_| !fresh && slot.as_ref().is_some_and(|c| c.client.is_closed())) {
        // A pooled connection that died since its last use: replaced once, as in `begin`.
        *slot = None;
        r = conn(cfg, slot)?.client.execute("SELECT pg_advisory_lock(hashtext($1))", &[&key]);
    }
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Ok(false),
        Err(e) => {
            forget_if_closed(slot);
            Err(OpError::Store(pg_err(e)))
        }
    }
}

fn unlock_queue(slot: &mut Option<Conn>, org: &str) {
    let key = format!("canopy-org:{org}");
    if let Some(c) = slot.as_mut() {
        if let Err(e) = c.client.execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key]) {
            // A lost connection released the lock with the session.
            tracing::warn!(error = %describe(&e), "advisory unlock failed; dropping the connection");
            *slot = None;
        }
    }
}

/// Jittered exponential backoff between re-runs that still conflict: up to 1, 2, 4 … 50 ms.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let cap_us = (1000u64 << attempt.min(6)).min(50_000);
    // Jitter without a RNG dependency: std's randomly seeded hasher over the clock.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    Duration::from_micros(cap_us / 2 + h.finish() % (cap_us / 2 + 1))
}

fn attempt_once(
    cfg: &postgres::Config,
    slot: &mut Option<Conn>,
    f: &mut TxFn,
    writable: bool,
    locked_org: Option<&str>,
    noted: &mut Option<String>,
) -> Attempt {
    let begin_sql = if writable { "BEGIN ISOLATION LEVEL SERIALIZABLE" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" };
    let c = match begin(cfg, slot, begin_sql) {
        Ok(c) => c,
        Err(e) => return Attempt::Done(Err(OpError::Store(e))),
    };
    let Conn { client, stmts } = c;
    let mut tx = PgTx::new(client, stmts, writable, locked_org.map(str::to_string));
    let result = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
    let (failed, conflict, duplicate, wrong_lock, org) = (tx.failed, tx.conflict, tx.duplicate && writable, tx.wrong_lock, tx.org.take());
    let session_ended = tx.session_ended;
    drop(tx);
    noted.clone_from(&org);
    let result = match result {
        Ok(r) => r,
        Err(payload) => {
            tracing::error!(panic = %panic_message(payload.as_ref()), writable, "store operation panicked");
            rollback(slot);
            return Attempt::Done(Err(OpError::Store(StoreError::Backend("operation panicked".into()))));
        }
    };
    if wrong_lock {
        rollback(slot);
        return Attempt::WrongQueue(org);
    }
    if conflict {
        rollback(slot);
        return Attempt::Retry(org);
    }
    if failed && (session_ended || slot.as_ref().is_some_and(|c| c.client.is_closed())) {
        // The connection died before COMMIT was sent (the server restarted, or an administrator
        // ended the session): nothing was committed, so the closure is re-run on a new one.
        *slot = None;
        tracing::warn!("PostgreSQL connection lost inside a transaction; re-running it on a new connection");
        return Attempt::Retry(org);
    }
    match result {
        Ok(v) if !failed => {
            let Some(c) = slot.as_mut() else { return Attempt::Done(Err(OpError::Store(StoreError::Closed))) };
            match c.client.batch_execute("COMMIT") {
                Ok(()) => Attempt::Done(Ok(v)),
                Err(e) if is_conflict(&e) => Attempt::Retry(org),
                Err(e) => {
                    // The outcome of a COMMIT whose answer was lost is unknown: the client gets a
                    // 500 and may retry; an acknowledged write is never lost.
                    tracing::error!(error = %describe(&e), "COMMIT failed");
                    rollback(slot);
                    forget_if_closed(slot);
                    Attempt::Done(Err(OpError::Store(pg_err(e))))
                }
            }
        }
        Ok(_) => {
            // The closure ignored a failed statement; the PostgreSQL transaction is aborted.
            rollback(slot);
            Attempt::Done(Err(OpError::Store(StoreError::Backend("a statement failed inside the transaction".into()))))
        }
        Err(e) if duplicate => {
            rollback(slot);
            Attempt::Duplicate(org, e)
        }
        Err(e) => {
            rollback(slot);
            forget_if_closed(slot);
            Attempt::Done(Err(e))
        }
    }
}

fn run_reset(cfg: &postgres::Config, slot: &mut Option<Conn>) -> StoreResult<()> {
    let sql = format!(
        "BEGIN; TRUNCATE {}; SELECT setval('canopy_seq', 1, false); COMMIT",
        schema::PG_DATA_TABLES
    );
    let r = conn(cfg, slot)?.client.batch_execute(&sql).map_err(pg_err);
    if r.is_err() {
        rollback(slot);
        forget_if_closed(slot);
    }
    r
}

async fn answer<T>(rx: oneshot::Receiver<Result<T, OpError>>) -> Result<T, OpError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(OpError::Store(StoreError::Closed)),
        Err(_) => Err(OpError::Store(StoreError::Backend("PostgreSQL did not answer in time".into()))),
    }
}

impl Store for PgStore {
    fn read(&self, f: TxFn) -> BoxFuture<OpResult> {
        let (reply, rx) = oneshot::channel();
        let sent = self.send(Job::Read { f, reply });
        Box::pin(async move {
            sent.map_err(OpError::Store)?;
            answer(rx).await
        })
    }

    fn write(&self, f: TxFn) -> BoxFuture<OpResult> {
        let (reply, rx) = oneshot::channel();
        let sent = self.send(Job::Write { f, reply });
        Box::pin(async move {
            sent.map_err(OpError::Store)?;
            answer(rx).await
        })
    }

    fn reset(&self) -> BoxFuture<StoreResult<()>> {
        let (reply, rx) = oneshot::channel();
        let sent = self.send(Job::Reset { reply });
        Box::pin(async move {
            sent?;
            match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(StoreError::Closed),
                Err(_) => Err(StoreError::Backend("PostgreSQL did not answer in time".into())),
            }
        })
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

impl Drop for PgStore {
    /// Closes the queue; the workers finish the jobs already queued, close their connections
    /// and exit. Joins them (unless dropped from one of them).
    fn drop(&mut self) {
        self.jobs.take();
        let me = std::thread::current().id();
        for handle in self.threads.drain(..) {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}

/// A throwaway schema for one test: created empty in the database `base_url` names, dropped
/// (with everything in it) when this is dropped. [`PgScratch::url`] selects it through the
/// connection's `search_path`, so a store opened on that URL sees only this schema.
pub struct PgScratch {
    base_url: String,
    schema: String,
    url: String,
}

impl PgScratch {
    pub fn create(base_url: &str) -> StoreResult<PgScratch> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let schema = format!("canopy_t_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed));
        let cfg = config(base_url)?;
        let sql = format!("CREATE SCHEMA {schema}");
        off_runtime(move || {
            let mut c = connect(&cfg)?;
            c.client.batch_execute(&sql).map_err(pg_err)
        })?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        // The application name marks the sessions of this schema (see `terminate_sessions`).
        let url = format!("{base_url}{sep}options=-csearch_path%3D{schema}&application_name={schema}");
        Ok(PgScratch { base_url: base_url.to_string(), schema, url })
    }

    /// The URL of the scratch schema (give it to `canopy_store::open` or `canopy serve`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Ends every server session opened through [`PgScratch::url`] (what a server restart does
    /// to them); for fault tests. Returns how many were ended.
    pub fn terminate_sessions(&self) -> StoreResult<u64> {
        let cfg = config(&self.base_url)?;
        let name = self.schema.clone();
        off_runtime(move || {
            let mut c = connect(&cfg)?;
            let rows = c
                .client
                .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&name])
                .map_err(pg_err)?;
            Ok(rows.len() as u64)
        })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let Ok(cfg) = config(&self.base_url) else { return };
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        let r = off_runtime(move || connect(&cfg).and_then(|mut c| c.client.batch_execute(&sql).map_err(pg_err)));
        if let Err(e) = r {
            tracing::warn!(error = %e, schema = %self.schema, "could not drop a scratch schema");
        }
    }
}

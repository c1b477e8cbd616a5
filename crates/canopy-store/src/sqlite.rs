//! The SQLite store: one writer thread with group commit, reader threads (file mode).
//!
//! Writes: `write(f)` queues the job for the writer thread, which owns the only write
//! connection. The thread drains every queued job (up to [`MAX_BATCH`]), opens one
//! `BEGIN IMMEDIATE` transaction, runs the jobs one after another and `COMMIT`s once. A refused
//! request leaves no trace: a job that fails after changing rows sends the batch round again
//! with each job in its own `SAVEPOINT` (see [`write_batch`]). If the commit fails every job of
//! the batch is answered with a storage error.
//!
//! Durability (file mode): the commit writes the WAL without waiting for the disk
//! (`synchronous=NORMAL`); the writer hands the batch's answers to the sync thread, which
//! `fdatasync`s the WAL and only then answers them, while the writer already runs the next
//! batch. So no operation is acknowledged before it is on disk, and the disk wait overlaps
//! the next batch's work instead of stalling it. A consequence to know: between its commit and
//! its sync (about a millisecond), a batch is visible to readers; a power loss in that window
//! loses it although someone may have read it (a kill -9 loses nothing: the WAL is in the OS).
//! Checkpoints run on their own thread ([`checkpoint_loop`]); the writer only finishes the one
//! that lets a long WAL start over ([`WalRestart`]).
//!
//! Reads (file mode): reader threads (one per core, 2 to 4), each with its own `query_only`
//! connection, take the reads queued at that moment and run them in one read transaction (see
//! [`ReadPool`] for why not on the caller's thread). A read queued after a write's future
//! resolved runs in a transaction begun after that commit, so it sees the write.
//!
//! Memory mode has one connection: the writer thread also serves reads, after the writes that
//! were queued with them have been committed.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use canopy_core::{BoxFuture, OpError, Store, StoreError, StoreResult, TxFn};

use crate::schema;
use crate::walvfs;
use crate::tx::{be, RowCache, SeqCounter, SqlTx, Statements};

/// At most this many jobs share one commit.
pub const MAX_BATCH: usize = 256;
/// How long a connection waits for a lock held by another process (or the checkpointer)
/// before failing: [`busy_wait`]'s short steps, then its long ones.
const BUSY_SHORT_STEP: Duration = Duration::from_micros(100);
const BUSY_SHORT_STEPS: i32 = 1_000;
const BUSY_LONG_STEP: Duration = Duration::from_millis(10);
const BUSY_LONG_STEPS: i32 = 990;
/// How often the checkpoint thread copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// A WAL this long (in frames: 16 MiB of 4 KiB pages) is started over (see [`checkpoint_loop`]).
const WAL_RESTART_FRAMES: i64 = 4_096;
/// A WAL this long, which readers have kept from starting over, gets a RESTART checkpoint from
/// the writer instead of a PASSIVE one: it waits (briefly) for the readers to leave the WAL.
const WAL_FORCE_RESTART_FRAMES: i64 = 4 * WAL_RESTART_FRAMES;
/// After a RESTART that waited for readers in vain, the next waits this long, doubling up to
/// [`RESTART_RETRY_MAX`]: a reader that holds one snapshot for seconds (a `sqlite3` shell on
/// the file, say) would otherwise have the writer's RESTART hold every write back again and
/// again.
const RESTART_RETRY_FIRST: Duration = Duration::from_millis(50);
const RESTART_RETRY_MAX: Duration = Duration::from_secs(2);
/// The checkpoint thread's PASSIVE passes before it hands the rest to the writer stop once
/// this few frames are left to copy, or after [`CATCH_UP_PASSES`].
const CATCH_UP_FRAMES: i64 = 64;
const CATCH_UP_PASSES: usize = 3;
/// The WAL file is truncated back to this size after a checkpoint has emptied it.
const WAL_SIZE_LIMIT: i64 = 64 << 20;
/// How much of the database file each connection reads through a memory map (the rest by
/// `pread` into its page cache). Each reader maps the file on its own, and the resident size
/// counts a mapped page once per mapping: with 256 MiB, a 10,000-account database (10 MiB)
/// showed as 19.4 MiB of the process's 58 MiB, against 7.9 MiB of 45 MiB with 4 MiB
/// (`bench/memory.sh`'s load). The first 4 MiB hold a small organization whole and the tables'
/// first pages in a large one; read rates on `bench/run.sh`'s organization were the same within
/// noise.
const MMAP_BYTES: i64 = 4 << 20;
/// The writer's page cache, in KiB (SQLite's negative `cache_size` form). Readers keep the
/// default (2 MiB): they read a small database through the memory map. 4 MiB, not 8: with 10,000
/// accounts loaded the larger cache held 4 MiB more (`bench/memory.sh`: 60.2–61.5 → 54.5–55.5
/// MiB with two HTTP threads), and CreateOrganizationalUnit, TagResource and CreateAccount ran
/// at the same rates and writer µs either way (alternating runs).
const WRITER_CACHE_KIB: i64 = -4096;
/// Prepared statements kept in rusqlite's own cache per connection: only the reset's
/// per-table deletes (built at run time) use it; every other statement is a `&'static str`
/// kept in the connection's `Statements`.
const STATEMENT_CACHE: usize = 32;

type OpResult = Result<Box<dyn Any + Send>, OpError>;
type OpReply = oneshot::Sender<OpResult>;

enum WriteJob {
    Op { f: TxFn, reply: OpReply },
    Reset { reply: oneshot::Sender<StoreResult<()>> },
    /// Memory mode only: a read served by the writer's connection.
    Read(ReadJob),
}

impl WriteJob {
    /// Answers a write the store will not run with `msg` (a read is not refused).
    fn refuse(self, msg: &str) {
        match self {
            WriteJob::Op { reply, .. } => {
                let _ = reply.send(Err(OpError::Store(StoreError::Backend(msg.to_string()))));
            }
            WriteJob::Reset { reply } => {
                let _ = reply.send(Err(StoreError::Backend(msg.to_string())));
            }
            WriteJob::Read(_) => unreachable!("reads are split off before the writes"),
        }
    }
}

/// At most this many queued reads share one read transaction. A read waits for the ones before
/// it in its batch, and a reader thread that loses its core stalls its whole batch: measured on
/// 2 cores, ListAccounts' p99 at 32 connections was 4.0–4.7 ms with batches of 64 and 2.6 ms
/// with 8 (same rate within noise); single-row reads kept their rate down to 8.
const MAX_READ_BATCH: usize = 8;

struct ReadJob {
    f: TxFn,
    reply: OpReply,
}

/// The read side of a file store: reader threads, each owning one read connection, fed by
/// one queue. A reader takes every read queued at that moment and runs them in one read
/// transaction, answering each as soon as it is done.
///
/// Why threads and not reads on the caller's thread: SQLite takes a process-wide mutex around
/// the lock it places on the WAL index for every read transaction, so read connections used
/// from several threads at once queue on that mutex and sleep; under load that cost more than
/// the hand-off. Batching also takes that lock once per batch instead of once per read.
struct ReadPool {
    queue: mpsc::Sender<ReadJob>,
}

impl ReadPool {
    fn start(conns: Vec<Connection>) -> StoreResult<(ReadPool, Vec<JoinHandle<()>>)> {
        let (queue, rx) = mpsc::channel::<ReadJob>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(conns.len());
        for (i, conn) in conns.into_iter().enumerate() {
            let rx = rx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("canopy-store-read-{i}"))
                .spawn(move || reader_loop(conn, &rx))
                .map_err(|e| StoreError::Backend(format!("cannot start a reader thread: {e}")))?;
            threads.push(handle);
        }
        Ok((ReadPool { queue }, threads))
    }

    fn run(&self, f: TxFn) -> BoxFuture<OpResult> {
        let (reply, rx) = oneshot::channel();
        let sent = self.queue.send(ReadJob { f, reply }).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(OpError::Store(StoreError::Closed));
            }
            rx.await.unwrap_or(Err(OpError::Store(StoreError::Closed)))
        })
    }
}

/// One reader thread. The batch is taken before its transaction begins, so every read in it
/// sees every write acknowledged before the read was queued.
fn reader_loop(conn: Connection, queue: &Mutex<mpsc::Receiver<ReadJob>>) {
    let stmts = Statements::new(&conn);
    let mut batch: Vec<ReadJob> = Vec::with_capacity(MAX_READ_BATCH);
    loop {
        {
            let rx = queue.lock().unwrap_or_else(PoisonError::into_inner);
            // `recv` fails once the store is dropped and the queue is empty.
            match rx.recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
            batch.extend(rx.try_iter().take(MAX_READ_BATCH - 1));
        }
        run_reads(&stmts, &mut batch);
    }
    tracing::debug!("store reader thread exiting");
}

/// A SQLite-backed [`Store`]. Build it with [`crate::open`], [`SqliteStore::open_memory`] or
/// [`SqliteStore::open_file`].
pub struct SqliteStore {
    kind: &'static str,
    writer: Option<mpsc::Sender<WriteJob>>,
    /// `None` in memory mode (reads go to the writer).
    readers: Option<ReadPool>,
    /// File mode: the checkpoint thread's calls (the store sends `Stop` when it closes).
    checkpointer: Option<mpsc::SyncSender<CheckpointCall>>,
    /// File mode: set when a sync of the WAL failed (see [`SyncFailure`]).
    failure: Option<SyncFailure>,
    threads: Vec<JoinHandle<()>>,
}

/// What the checkpoint thread is told, besides its timer.
enum CheckpointCall {
    /// From the writer: a commit left at least [`WAL_RESTART_FRAMES`] in the WAL.
    WalFull,
    /// From the closing store.
    Stop,
}

/// Where a file store's writer hands its committed batches, and whom it tells that the WAL is full.
struct FileDuties {
    sync: mpsc::Sender<Vec<Pending>>,
    checkpointer: mpsc::SyncSender<CheckpointCall>,
    restart: WalRestart,
    failure: SyncFailure,
}

/// Set by the checkpoint thread when it has copied all but the last few frames of a long WAL
/// into the database file and synced that file: the writer then copies the rest itself,
/// between two batches ([`finish_checkpoint`]), and its next commit starts the WAL over.
///
/// A RESTART checkpoint from the checkpoint thread did the same while holding the writer
/// back, and held it for 0.9–2 ms (median 1.4 ms, CreateOrganizationalUnit load, every 65 ms):
/// the wait for the writer's lock and the writer's wait for its release go in 100 µs sleeps,
/// and the RESTART's sync of the database file flushed every page the earlier PASSIVE passes
/// had copied. The writer's own part takes 0.7 ms (median; 1.0 ms at the 90th percentile).
#[derive(Clone, Default)]
struct WalRestart(Arc<WalRestartState>);

#[derive(Default)]
struct WalRestartState {
    /// 0: nothing asked; [`FINISH_PASSIVE`] or [`FINISH_RESTART`]: what the writer runs.
    requested: std::sync::atomic::AtomicU8,
    /// How many times the writer's commits have started the WAL over.
    restarts: std::sync::atomic::AtomicU64,
}

/// The writer's checkpoint modes (see [`finish_checkpoint`]).
const FINISH_PASSIVE: u8 = 1;
const FINISH_RESTART: u8 = 2;

impl WalRestart {
    fn request(&self, mode: u8) {
        self.0.requested.store(mode, std::sync::atomic::Ordering::Release);
    }

    /// The mode asked for, if any (and clears it).
    fn take(&self) -> Option<u8> {
        if self.0.requested.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            return None;
        }
        Some(self.0.requested.swap(0, std::sync::atomic::Ordering::Acquire)).filter(|&m| m != 0)
    }

    fn note_restarted(&self) {
        self.0.restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn restarts(&self) -> u64 {
        self.0.restarts.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Set once, by the sync thread, when an `fdatasync` of the WAL fails. From then on the store
/// refuses every write (and health reports it) until the process restarts and recovers from
/// what is on disk. Carrying on is not safe: Linux reports a write-back error to a file once,
/// so a later `fdatasync` can succeed while the failed pages never reached the disk, and a
/// write acknowledged after that could sit behind a hole in the WAL, which recovery stops at.
/// PostgreSQL stops the same way (a PANIC on a failed fsync).
#[derive(Clone, Default)]
struct SyncFailure(Arc<std::sync::OnceLock<String>>);

impl SyncFailure {
    fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Records the first failure; answers the one recorded.
    fn set(&self, msg: String) -> &str {
        self.0.get_or_init(|| msg)
    }
}

impl SqliteStore {
    /// An ephemeral in-memory database, private to this store.
    pub fn open_memory() -> StoreResult<SqliteStore> {
        configure_library();
        let mut conn = Connection::open_in_memory().map_err(be)?;
        configure_common(&conn)?;
        schema::migrate(&mut conn)?;
        let writer = spawn_writer(conn, None)?;
        Ok(SqliteStore {
            kind: "sqlite-memory",
            writer: Some(writer.0),
            readers: None,
            checkpointer: None,
            failure: None,
            threads: vec![writer.1],
        })
    }

    /// A database file (created with its parent directories if missing), in WAL mode; every
    /// acknowledged write has been synced to disk (see the module docs).
    pub fn open_file(path: &Path) -> StoreResult<SqliteStore> {
        configure_library();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Backend(format!("cannot create directory {}: {e}", parent.display())))?;
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // The writer's connection alone writes the WAL through `walvfs`, a commit's frames in
        // one write call.
        walvfs::register().map_err(StoreError::Backend)?;
        let mut conn = Connection::open_with_flags_and_vfs(path, flags, walvfs::VFS_NAME)
            .map_err(|e| StoreError::Backend(format!("cannot open database {}: {e}", path.display())))?;
        configure_common(&conn)?;
        schema::refuse_foreign(&conn)?;
        let mode = switch_to_wal(&conn)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("cannot switch {} to WAL mode (got {mode})", path.display())));
        }
        // Commits write the WAL without waiting for the disk; the sync thread makes each batch
        // durable (one fdatasync of the WAL) before any of its operations is answered, while
        // the writer already runs the next batch. See `sync_loop`.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(be)?;
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB).map_err(be)?;
        // No memory map for the writer: with one, SQLite searches the WAL index on every page
        // access, even for a page its own cache holds (a tenth of a write's time). The only
        // writer's cache stays valid between its transactions, so its hot pages are hits.
        conn.pragma_update(None, "mmap_size", 0).map_err(be)?;
        // Checkpoints run on their own thread (see `checkpoint_loop`), not inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(be)?;
        // The writer's commit is what starts the WAL over, and SQLite trims the file then, to
        // this connection's limit (a reader that held the WAL for long leaves it large).
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT).map_err(be)?;
        conn.wal_hook(Some(note_wal_frames));
        schema::migrate(&mut conn)?;

        // One per core, 2 to 4. Measured on 2 cores, six alternating runs: two readers served
        // ListChildren and ListAccounts 5–50 % faster than one (a list is mostly row decoding,
        // which then uses both cores), single-row reads the same within noise.
        let n_readers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 4);
        let mut reader_conns = Vec::with_capacity(n_readers);
        for _ in 0..n_readers {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let rc = Connection::open_with_flags(path, flags).map_err(be)?;
            configure_common(&rc)?;
            rc.pragma_update(None, "query_only", "ON").map_err(be)?;
            reader_conns.push(rc);
        }

        let checkpointer = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(be)?;
        configure_common(&checkpointer)?;
        // Room for one call: the writer's `WalFull` is dropped when one is already waiting.
        let (checkpoint_tx, checkpoint_rx) = mpsc::sync_channel::<CheckpointCall>(1);
        let restart = WalRestart::default();
        let db_file = std::fs::File::open(path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        let checkpoint_restart = restart.clone();
        let checkpoint_thread = std::thread::Builder::new()
            .name("canopy-store-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, db_file, checkpoint_rx, checkpoint_restart))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;

        let wal = wal_file(path)?;
        let failure = SyncFailure::default();
        let (sync_tx, sync_rx) = mpsc::channel::<Vec<Pending>>();
        let sync_failure = failure.clone();
        let sync_thread = std::thread::Builder::new()
            .name("canopy-store-sync".into())
            .spawn(move || sync_loop(wal, sync_rx, sync_failure))
            .map_err(|e| StoreError::Backend(format!("cannot start the sync thread: {e}")))?;

        // Joined in this order on drop: the writer (it finishes its queue and hands the last
        // batch to the sync thread), the sync thread, then the checkpointer.
        let duties = FileDuties { sync: sync_tx, checkpointer: checkpoint_tx.clone(), restart, failure: failure.clone() };
        let (writer_tx, writer_thread) = spawn_writer(conn, Some(duties))?;
        let (readers, reader_threads) = ReadPool::start(reader_conns)?;
        let mut threads = vec![writer_thread, sync_thread];
        threads.extend(reader_threads);
        threads.push(checkpoint_thread);
        Ok(SqliteStore {
            kind: "sqlite-file",
            writer: Some(writer_tx),
            readers: Some(readers),
            checkpointer: Some(checkpoint_tx),
            failure: Some(failure),
            threads,
        })
    }
}

/// Resolves a filesystem spec: a directory (ends with `/` or exists as one) holds
/// [`crate::DB_FILE_NAME`]; anything else is the database file itself.
pub(crate) fn resolve_path(spec: &str) -> StoreResult<PathBuf> {
    if names_directory(spec) {
        let p = PathBuf::from(spec);
        std::fs::create_dir_all(&p).map_err(|e| StoreError::Backend(format!("cannot create directory {}: {e}", p.display())))?;
    }
    Ok(file_of(spec))
}

/// [`resolve_path`] without creating the directory.
pub(crate) fn file_of(spec: &str) -> PathBuf {
    let p = PathBuf::from(spec);
    if names_directory(spec) {
        p.join(crate::DB_FILE_NAME)
    } else {
        p
    }
}

fn names_directory(spec: &str) -> bool {
    spec.ends_with('/') || spec.ends_with(std::path::MAIN_SEPARATOR) || Path::new(spec).is_dir()
}

/// Process-wide SQLite settings, applied once before the first connection opens.
///
/// Memory statistics off: SQLite otherwise counts every allocation under one global mutex,
/// which the read connections (each on its own thread) then contend on.
fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection of this process is opened
        // (this Once runs first in both constructors); if SQLite was already initialized
        // elsewhere it answers SQLITE_MISUSE and changes nothing.
        let rc = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite was initialized already; memory statistics stay on");
        }
    });
}

/// SQLite's busy handler: waits 100 µs at a time for the first 0.1 s, then 10 ms at a time, and
/// gives up after 10 s. SQLite's own (`busy_timeout`) sleeps 1, 2, 5, 10… ms, so the writer
/// held back by a RESTART checkpoint of a millisecond or two lost several.
fn busy_wait(attempt: i32) -> bool {
    if attempt < BUSY_SHORT_STEPS {
        std::thread::sleep(BUSY_SHORT_STEP);
        true
    } else if attempt < BUSY_SHORT_STEPS + BUSY_LONG_STEPS {
        std::thread::sleep(BUSY_LONG_STEP);
        true
    } else {
        false
    }
}

fn configure_common(conn: &Connection) -> StoreResult<()> {
    conn.busy_handler(Some(busy_wait)).map_err(be)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Each write job runs in a savepoint: keep its statement journal in memory, not in a temp
    // file (a file write per touched page was a fifth of a write's cost).
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(be)?;
    // Reads of the database file's first MMAP_BYTES through a memory map instead of a pread per page.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES).map_err(be)?;
    // The schema has no foreign keys: cascades are explicit (org_delete).
    Ok(())
}

/// Switches a new database to WAL mode, or confirms an existing one is in it. The switch needs
/// the file to itself, and while another process opening the same new database holds a lock
/// it can fail at once with "database is locked", the busy handler's wait notwithstanding (two
/// `canopy credentials create` on a fresh directory: one failed in about half the runs; none in
/// 30 with this retry). Retried like the busy handler's wait: every 10 ms for up to 10 s.
fn switch_to_wal(conn: &Connection) -> StoreResult<String> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                    && started.elapsed() < BUSY_LONG_STEP * BUSY_LONG_STEPS as u32 =>
            {
                std::thread::sleep(BUSY_LONG_STEP);
            }
            other => return other.map_err(be),
        }
    }
}

/// The database's WAL file, opened to sync it (SQLite creates it too; an empty one is valid).
fn wal_file(db_path: &Path) -> StoreResult<std::fs::File> {
    let mut wal = db_path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&wal)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", Path::new(&wal).display())))
}

/// Makes committed batches durable, then answers them. Every batch queued while one sync ran
/// shares the next sync. A failed sync answers its operations with a storage error (their
/// outcome is unknown to the client, as after a timeout) and stops the store's writes
/// ([`SyncFailure`]).
fn sync_loop(wal: std::fs::File, rx: mpsc::Receiver<Vec<Pending>>, failure: SyncFailure) {
    // Every write of a batch waits for this thread to run once its sync has finished.
    crate::wakeups::prefer_prompt_wakeups();
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        batches.extend(rx.try_iter());
        // After a failed sync, batches committed since are not synced: they build on writes
        // that may never reach the disk, and a later sync could succeed without them.
        if let Some(msg) = failure.get() {
            batches.into_iter().flatten().for_each(|p| p.fail(msg));
            continue;
        }
        match wal.sync_data() {
            Ok(()) => batches.into_iter().flatten().for_each(Pending::answer),
            Err(e) => {
                let msg = failure.set(format!("cannot sync the write-ahead log ({e}); the store accepts no more writes until the server restarts"));
                tracing::error!("{msg}");
                batches.into_iter().flatten().for_each(|p| p.fail(msg));
            }
        }
    }
    tracing::debug!("store sync thread exiting");
}

/// `durable`: where committed batches go to be synced before they are answered (file mode);
/// `None` answers them at once (memory mode, nothing to sync).
fn spawn_writer(conn: Connection, durable: Option<FileDuties>) -> StoreResult<(mpsc::Sender<WriteJob>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<WriteJob>();
    let handle = std::thread::Builder::new()
        .name("canopy-store-writer".into())
        .spawn(move || writer_loop(conn, rx, durable))
        .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
    Ok((tx, handle))
}

fn exec(stmts: &Statements, sql: &'static str) -> rusqlite::Result<()> {
    stmts.run(sql, |st| st.execute([]).map(|_| ()))
}

/// Leaves the connection outside any transaction (after an earlier failure).
fn ensure_no_transaction(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "rollback of a stale transaction failed");
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

fn panicked() -> OpError {
    OpError::Store(StoreError::Backend("operation panicked".into()))
}

/// Runs one closure, turning a panic into an error. `seq`: the write transaction's insertion
/// counter; `None` runs the closure read-only.
fn run_closure(stmts: &Statements, rows: &RowCache, f: &mut TxFn, seq: Option<&SeqCounter>) -> OpResult {
    let writable = seq.is_some();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut tx = match seq {
            Some(seq) => SqlTx::write(stmts, seq, rows),
            None => SqlTx::read(stmts, rows),
        };
        f(&mut tx)
    }));
    match result {
        Ok(r) => r,
        Err(payload) => {
            tracing::error!(panic = %panic_message(payload.as_ref()), writable, "store operation panicked");
            Err(panicked())
        }
    }
}

/// Runs the queued reads (all of them, emptying `jobs`) in one read transaction, answering each
/// as soon as it is done.
fn run_reads(stmts: &Statements, jobs: &mut Vec<ReadJob>) {
    let conn = stmts.conn();
    ensure_no_transaction(conn);
    if let Err(e) = exec(stmts, "BEGIN") {
        let msg = format!("cannot begin a read transaction: {e}");
        tracing::error!("{msg}");
        for job in jobs.drain(..) {
            let _ = job.reply.send(Err(OpError::Store(StoreError::Backend(msg.clone()))));
        }
        return;
    }
    let rows = RowCache::default();
    for ReadJob { mut f, reply } in jobs.drain(..) {
        let r = run_closure(stmts, &rows, &mut f, None);
        drop(f);
        let _ = reply.send(r);
    }
    if let Err(e) = exec(stmts, "COMMIT") {
        tracing::warn!(error = %e, "ending a read transaction failed");
        ensure_no_transaction(conn);
    }
}

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`], and at once
/// when the writer reports a full WAL, so commits never pay for a checkpoint. PASSIVE: it never
/// blocks the writer or readers; frames a reader still needs wait for the next round.
///
/// Under a steady stream of writes a PASSIVE checkpoint never catches up with the writer, and
/// SQLite only starts the WAL over once one has: the file would grow without bound (about
/// 60 MB a second under CreateOrganizationalUnit load, measured). So once the WAL holds
/// [`WAL_RESTART_FRAMES`], this thread copies what the writer appended during its pass (a
/// shorter pass, then a shorter one), syncs the database file with no lock held, and asks the
/// writer to copy the last few frames between two batches ([`WalRestart`]); the writer's next
/// commit then starts the WAL over, unless a reader is still in it; then the next round tries
/// again. Past [`WAL_FORCE_RESTART_FRAMES`] the writer's checkpoint is a RESTART, which waits
/// up to about 5 ms for readers; one that waited in vain is retried after 50 ms, then 100 ms,
/// up to every 2 s ([`RestartRetry`]). A reader outside the store that holds one snapshot for long (a `sqlite3`
/// shell on the file) makes the WAL grow until it lets go: a RESTART from this thread used to
/// hold the writer back for the whole busy timeout then, and failed batches with "database is
/// locked". The writer's `journal_size_limit` trims the file when it starts the WAL over.
/// Ends with a full checkpoint when the store closes.
fn checkpoint_loop(conn: Connection, db_file: std::fs::File, calls: mpsc::Receiver<CheckpointCall>, restart: WalRestart) {
    if let Err(e) = conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT) {
        tracing::warn!(error = %e, "cannot set journal_size_limit");
    }
    // Answers the frames in the WAL and how many of them are in the database file (both -1
    // when a lock was not to be had), or None when the checkpoint failed.
    let checkpoint = |mode: &str| -> Option<(i64, i64)> {
        let r = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match r {
            Ok((_busy, frames, copied)) => Some((frames, copied)),
            Err(e) => {
                tracing::warn!(error = %e, mode, "WAL checkpoint failed");
                None
            }
        }
    };
    let mut retry = RestartRetry::default();
    // Until the store closes (Stop, or the writer and readers gone).
    'calls: while let Err(mpsc::RecvTimeoutError::Timeout) | Ok(CheckpointCall::WalFull) = calls.recv_timeout(CHECKPOINT_EVERY) {
        if !retry.due() {
            continue;
        }
        let Some((mut frames, mut copied)) = checkpoint("PASSIVE").filter(|&(f, _)| f >= WAL_RESTART_FRAMES) else {
            retry.succeeded();
            continue;
        };
        let mode = if frames >= WAL_FORCE_RESTART_FRAMES { FINISH_RESTART } else { FINISH_PASSIVE };
        match retry.attempted.take() {
            // Not started over since the last attempt: a reader kept it from happening. A
            // PASSIVE one is tried again at once (the store's own readers leave within
            // milliseconds); one that waited for readers in vain backs off.
            Some((at, FINISH_RESTART)) if at == restart.restarts() => {
                retry.failed(frames);
                continue;
            }
            Some((at, _)) if at == restart.restarts() => {}
            Some(_) => retry.succeeded(),
            None => {}
        }
        retry.attempted = Some((restart.restarts(), mode));
        for _ in 0..CATCH_UP_PASSES {
            if frames - copied <= CATCH_UP_FRAMES {
                break;
            }
            let Some(pass) = checkpoint("PASSIVE") else { break };
            (frames, copied) = pass;
        }
        // A PASSIVE pass that ends short of the WAL's end leaves the database file unsynced,
        // and the checkpoint that completes it would sync every page copied since.
        match db_file.sync_data() {
            Ok(()) => restart.request(mode),
            Err(e) => tracing::warn!(error = %e, "cannot sync the database file"),
        }
        // A `WalFull` sent meanwhile is about the WAL just dealt with; a pass for it would
        // hold the checkpoint lock while the writer tries to finish.
        loop {
            match calls.try_recv() {
                Ok(CheckpointCall::WalFull) => continue,
                Err(mpsc::TryRecvError::Empty) => break,
                Ok(CheckpointCall::Stop) | Err(mpsc::TryRecvError::Disconnected) => break 'calls,
            }
        }
    }
    checkpoint("TRUNCATE");
}

/// When the checkpoint thread next tries to start a long WAL over (see [`checkpoint_loop`]).
struct RestartRetry {
    /// The writer's count of WAL restarts when the last attempt began, and its mode.
    attempted: Option<(u64, u8)>,
    not_before: Option<Instant>,
    wait: Duration,
    warned: bool,
}

impl Default for RestartRetry {
    fn default() -> Self {
        RestartRetry { attempted: None, not_before: None, wait: RESTART_RETRY_FIRST, warned: false }
    }
}

impl RestartRetry {
    fn due(&self) -> bool {
        self.not_before.is_none_or(|t| Instant::now() >= t)
    }

    fn failed(&mut self, frames: i64) {
        self.not_before = Some(Instant::now() + self.wait);
        self.wait = (self.wait * 2).min(RESTART_RETRY_MAX);
        if self.wait == RESTART_RETRY_MAX && !self.warned {
            self.warned = true;
            tracing::warn!(
                wal_mib = (frames * 4096) >> 20,
                "a reader has kept the write-ahead log from starting over for seconds; it grows until that reader's transaction ends"
            );
        }
    }

    fn succeeded(&mut self) {
        if self.warned {
            tracing::info!("the write-ahead log starts over again");
        }
        *self = RestartRetry::default();
    }
}

/// The writer's busy handler during its RESTART checkpoint: 100 µs steps for up to about 5 ms
/// of waiting for readers to leave the WAL, which holds every write back.
fn restart_busy_wait(attempt: i32) -> bool {
    if attempt < 50 {
        std::thread::sleep(BUSY_SHORT_STEP);
        true
    } else {
        false
    }
}

/// The writer's part of starting a long WAL over (see [`WalRestart`]): with no transaction of
/// its own open and nothing being appended, a checkpoint copies the frames the checkpoint
/// thread left, syncs the WAL and the database file, and so lets the next commit start the WAL
/// over. PASSIVE never waits: it gives up if the checkpoint thread holds the checkpoint lock,
/// and copies no frame a reader still needs. RESTART, for a WAL readers have kept long, also
/// waits up to about 5 ms for them to leave it.
fn finish_checkpoint(stmts: &Statements, mode: u8) {
    let started = std::time::Instant::now();
    let conn = stmts.conn();
    let sql = if mode == FINISH_RESTART { "PRAGMA wal_checkpoint(RESTART)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
    if mode == FINISH_RESTART {
        let _ = conn.busy_handler(Some(restart_busy_wait));
    }
    let r = conn.query_row(sql, [], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)));
    if mode == FINISH_RESTART {
        if let Err(e) = conn.busy_handler(Some(busy_wait)) {
            tracing::error!(error = %e, "cannot restore the writer's busy handler");
        }
    }
    match r {
        Ok((busy, frames, copied)) => {
            tracing::debug!(sql, busy, frames, copied, took_us = started.elapsed().as_micros() as u64, "writer finished a checkpoint");
        }
        Err(e) => tracing::warn!(error = %e, "the writer's checkpoint failed"),
    }
}

fn reset_all(stmts: &Statements) -> StoreResult<()> {
    for table in schema::DATA_TABLES {
        stmts.conn().prepare_cached(&format!("DELETE FROM {table}")).and_then(|mut s| s.execute([])).map_err(be)?;
    }
    exec(stmts, "UPDATE counters SET value = 0 WHERE name = 'seq'").map_err(be)?;
    Ok(())
}

enum Pending {
    Op(OpReply, OpResult),
    Reset(oneshot::Sender<StoreResult<()>>, StoreResult<()>),
}

impl Pending {
    /// This reply with the job's result (a reply and a result of the same kind).
    fn with(self, result: JobResult) -> Pending {
        match (self, result) {
            (Pending::Op(reply, _), JobResult::Op(r)) => Pending::Op(reply, r),
            (Pending::Reset(reply, _), JobResult::Reset(r)) => Pending::Reset(reply, r),
            (Pending::Op(reply, _), JobResult::Reset(_)) => Pending::Op(reply, Err(OpError::Store(StoreError::Backend("job kinds mixed up".into())))),
            (Pending::Reset(reply, _), JobResult::Op(_)) => Pending::Reset(reply, Err(StoreError::Backend("job kinds mixed up".into()))),
        }
    }

    fn answer(self) {
        match self {
            Pending::Op(reply, r) => {
                let _ = reply.send(r);
            }
            Pending::Reset(reply, r) => {
                let _ = reply.send(r);
            }
        }
    }

    fn fail(self, msg: &str) {
        match self {
            Pending::Op(reply, _) => {
                let _ = reply.send(Err(OpError::Store(StoreError::Backend(msg.to_string()))));
            }
            Pending::Reset(reply, _) => {
                let _ = reply.send(Err(StoreError::Backend(msg.to_string())));
            }
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<WriteJob>, durable: Option<FileDuties>) {
    let stmts = Statements::new(&conn);
    let mut batch: Vec<WriteJob> = Vec::with_capacity(MAX_BATCH);
    let mut reads: Vec<ReadJob> = Vec::new();
    // `recv` keeps returning queued jobs after the store is dropped, then fails: the thread
    // finishes the queue and exits.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut writes = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            match job {
                WriteJob::Read(job) => reads.push(job),
                other => writes.push(other),
            }
        }
        if let Some(msg) = durable.as_ref().and_then(|d| d.failure.get()) {
            writes.into_iter().for_each(|job| job.refuse(msg));
        } else if !writes.is_empty() {
            let frames_before = WAL_FRAMES.get();
            if let Some(committed) = write_batch(&stmts, writes) {
                match &durable {
                    Some(duties) => {
                        if WAL_FRAMES.get() < frames_before {
                            duties.restart.note_restarted();
                        }
                        if let Err(mpsc::SendError(committed)) = duties.sync.send(committed) {
                            committed.into_iter().for_each(|p| p.fail("the store is shutting down"));
                        }
                        if let Some(mode) = duties.restart.take() {
                            finish_checkpoint(&stmts, mode);
                        } else if WAL_FRAMES.get() >= WAL_RESTART_FRAMES {
                            // Full or closed: a call is already waiting, or the store is closing.
                            let _ = duties.checkpointer.try_send(CheckpointCall::WalFull);
                        }
                    }
                    None => committed.into_iter().for_each(Pending::answer),
                }
            }
        }
        if !reads.is_empty() {
            run_reads(&stmts, &mut reads);
        }
    }
    tracing::debug!("store writer thread exiting");
}

thread_local! {
    /// Frames in the WAL after the writer's last commit, as SQLite reported them to
    /// [`note_wal_frames`] (the writer thread is the only one that commits).
    static WAL_FRAMES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// SQLite's WAL hook on the writer connection: called by COMMIT, on the writer thread.
fn note_wal_frames(_wal: &rusqlite::hooks::Wal, frames: std::os::raw::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(i64::from(frames));
    Ok(())
}

/// What one job of a write batch does.
enum Work {
    Op(TxFn),
    Reset,
}

/// Why a batch's transaction was given up.
enum BatchFailure {
    /// A job failed after it had changed rows; without savepoints that cannot be undone alone.
    Replay,
    /// SQLite refused the transaction itself (answer every job with this message).
    Broken(String),
}

/// Runs a batch of write jobs in one transaction. Returns their answers once committed (not yet
/// durable); answers them itself when the batch fails as a whole.
///
/// Each job must leave no trace when it fails. Jobs first run one after another with no
/// savepoint: a failing job usually fails before it writes, and then has nothing to undo (a
/// savepoint per job, with its page journal, was a fifth of a CreateOrganizationalUnit's
/// cost). If a job fails after changing rows, the transaction is rolled back and the whole
/// batch runs again with a savepoint around each job, so the failed job's writes are undone
/// alone; the answers are those of that second run.
#[must_use]
fn write_batch(stmts: &Statements, jobs: Vec<WriteJob>) -> Option<Vec<Pending>> {
    let conn = stmts.conn();
    let n = jobs.len();
    let mut works = Vec::with_capacity(n);
    let mut replies = Vec::with_capacity(n);
    for job in jobs {
        match job {
            WriteJob::Op { f, reply } => {
                works.push(Work::Op(f));
                replies.push(Pending::Op(reply, Ok(Box::new(()))));
            }
            WriteJob::Reset { reply } => {
                works.push(Work::Reset);
                replies.push(Pending::Reset(reply, Ok(())));
            }
            WriteJob::Read(_) => unreachable!("reads are split off before the write batch"),
        }
    }
    let outcome = match run_batch(stmts, &mut works, false) {
        Err(BatchFailure::Replay) => {
            ensure_no_transaction(conn);
            tracing::debug!(batch = n, "a job failed after writing; the batch runs again with savepoints");
            run_batch(stmts, &mut works, true)
        }
        other => other,
    };
    // Captured values are dropped here, on the writer thread, before anyone is answered.
    drop(works);
    match outcome {
        Ok(results) => {
            tracing::trace!(batch = n, "committed");
            Some(replies.into_iter().zip(results).map(|(p, r)| p.with(r)).collect())
        }
        Err(failure) => {
            let msg = match failure {
                BatchFailure::Broken(msg) => msg,
                BatchFailure::Replay => "a job failed after writing, even with savepoints".to_string(),
            };
            tracing::error!("{msg}; the whole batch of {n} is rolled back");
            ensure_no_transaction(conn);
            replies.into_iter().for_each(|p| p.fail(&msg));
            None
        }
    }
}

/// One run of a batch in one transaction, committed when every job has run. `careful`: each
/// job in its own savepoint; otherwise a job that fails after changing rows stops the run with
/// [`BatchFailure::Replay`]. Answers the jobs' results in order.
fn run_batch(stmts: &Statements, works: &mut [Work], careful: bool) -> Result<Vec<JobResult>, BatchFailure> {
    let conn = stmts.conn();
    ensure_no_transaction(conn);
    exec(stmts, "BEGIN IMMEDIATE").map_err(|e| BatchFailure::Broken(format!("cannot begin a write transaction: {e}")))?;
    let seq = SeqCounter::default();
    let rows = RowCache::default();
    let mut results = Vec::with_capacity(works.len());
    for work in works.iter_mut() {
        if careful {
            exec(stmts, "SAVEPOINT job").map_err(|e| BatchFailure::Broken(format!("cannot open a savepoint: {e}")))?;
        }
        let changes_before = conn.total_changes();
        let result = match work {
            Work::Op(f) => JobResult::Op(run_closure(stmts, &rows, f, Some(&seq))),
            Work::Reset => {
                rows.clear();
                JobResult::Reset(reset_all(stmts).inspect(|_| seq.rewound()))
            }
        };
        if careful {
            let end = if result.is_ok() {
                exec(stmts, "RELEASE job")
            } else {
                rows.clear();
                exec(stmts, "ROLLBACK TO job").and_then(|_| exec(stmts, "RELEASE job"))
            };
            end.map_err(|e| BatchFailure::Broken(format!("cannot end a savepoint: {e}")))?;
        } else if !result.is_ok() && conn.total_changes() != changes_before {
            return Err(BatchFailure::Replay);
        }
        // Some errors (a full disk, an I/O error) make SQLite roll the transaction back itself.
        if conn.is_autocommit() {
            return Err(BatchFailure::Broken("SQLite rolled the write transaction back".to_string()));
        }
        results.push(result);
    }
    seq.store(stmts).map_err(|e| BatchFailure::Broken(format!("commit failed: {e}")))?;
    exec(stmts, "COMMIT").map_err(|e| BatchFailure::Broken(format!("commit failed: {e}")))?;
    Ok(results)
}

enum JobResult {
    Op(OpResult),
    Reset(StoreResult<()>),
}

impl JobResult {
    fn is_ok(&self) -> bool {
        match self {
            JobResult::Op(r) => r.is_ok(),
            JobResult::Reset(r) => r.is_ok(),
        }
    }
}

impl Store for SqliteStore {
    fn read(&self, f: TxFn) -> BoxFuture<OpResult> {
        if let Some(readers) = &self.readers {
            return readers.run(f);
        }
        let (reply, rx) = oneshot::channel();
        let sent = self.writer.as_ref().is_some_and(|w| w.send(WriteJob::Read(ReadJob { f, reply })).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(OpError::Store(StoreError::Closed));
            }
            rx.await.unwrap_or(Err(OpError::Store(StoreError::Closed)))
        })
    }

    fn write(&self, f: TxFn) -> BoxFuture<OpResult> {
        let (reply, rx) = oneshot::channel();
        let sent = self.writer.as_ref().is_some_and(|w| w.send(WriteJob::Op { f, reply }).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(OpError::Store(StoreError::Closed));
            }
            rx.await.unwrap_or(Err(OpError::Store(StoreError::Closed)))
        })
    }

    fn reset(&self) -> BoxFuture<StoreResult<()>> {
        let (reply, rx) = oneshot::channel();
        let sent = self.writer.as_ref().is_some_and(|w| w.send(WriteJob::Reset { reply }).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            rx.await.unwrap_or(Err(StoreError::Closed))
        })
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn failure(&self) -> Option<String> {
        self.failure.as_ref().and_then(|f| f.get().map(str::to_owned))
    }
}

impl Drop for SqliteStore {
    /// Closes the queues; the threads finish the jobs already queued and exit. Joins them
    /// (unless dropped from one of them), so the database is closed when this returns.
    fn drop(&mut self) {
        self.writer.take();
        self.readers.take();
        let me = std::thread::current().id();
        // The writer and readers first (they finish their queues), the checkpointer last.
        let checkpointer = if self.checkpointer.is_some() { self.threads.pop() } else { None };
        for handle in self.threads.drain(..) {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
        if let Some(calls) = self.checkpointer.take() {
            // Blocks only while a `WalFull` waits, which the checkpointer takes within a round.
            let _ = calls.send(CheckpointCall::Stop);
        }
        if let Some(handle) = checkpointer {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}

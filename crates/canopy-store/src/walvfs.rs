//! A SQLite VFS, used by the writer connection only, that hands a commit's WAL frames to the
//! kernel in one write call instead of two per frame.
//!
//! SQLite appends each WAL frame as two `pwrite`s: its 24-byte header, then the page. A
//! CreateOrganizationalUnit commit of ten requests writes about twenty frames, so forty calls,
//! and those calls were a fifth of the writer thread's time (measured with perf): mostly the
//! fixed cost of a call, not the copying. This VFS is SQLite's default one with a different
//! `xOpen`: every file but the WAL is the default VFS's own file, untouched. The WAL file is
//! wrapped; appended frames collect in memory and go out as one write when the frame that
//! commits the transaction (its header's "database size after commit" field is not zero) is
//! complete.
//!
//! Why this is safe:
//! - Another connection reads a frame only once the WAL index lists it, and SQLite updates the
//!   index after the commit's frames are written: by then they have been handed to the kernel,
//!   as without this VFS.
//! - Only new frames, appended at the end of the log, are held, and the frame that commits
//!   writes everything. A write below the end (SQLite rewriting the checksums of a spilled
//!   transaction's frames, which it does after writing the commit frame) is written at once:
//!   held, the commit frame's rewritten header stayed in memory after the commit returned, and
//!   a kill -9 then lost an acknowledged transaction (a test below).
//! - Every other operation on the WAL file (a read, a write that is not the next frame, sync,
//!   truncate, size, file control, close) first writes what is held, so the file always looks
//!   to SQLite exactly as it would without the buffer.
//! - Durability is unchanged: the bytes reach the kernel before the commit returns, and the
//!   store's sync thread `fdatasync`s them before any answer, as before.
//! - A failed write of the held frames fails the call that caused it (usually the commit),
//!   which SQLite then rolls back.

use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub(crate) const VFS_NAME: &CStr = c"canopy-wal-batch";

/// A WAL frame header's size (fixed by the WAL format).
const FRAME_HEADER: usize = 24;
/// The most the default unix VFS writes in one call: it keeps only the low 17 bits of a write's
/// length (`seekAndWriteFd`), so a longer write would come back short.
const MAX_WRITE: usize = 0x1ffff;
/// Held bytes are written once they reach this size, even mid-transaction (a large transaction
/// spills frames before its commit): one write call's worth.
const HOLD_LIMIT: usize = 96 << 10;

/// The default VFS this one wraps, set once by [`register`].
static INNER: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// Registers the VFS (once per process; later calls answer the first result).
pub(crate) fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe; the registered
        // struct is leaked, so it outlives every connection that uses it.
        unsafe {
            let inner = ffi::sqlite3_vfs_find(ptr::null());
            if inner.is_null() {
                return Err("SQLite has no default VFS".into());
            }
            INNER.store(inner, Ordering::Release);
            // The default VFS's methods and `pAppData` as they are (they work on any of their
            // files); only the file size and `xOpen` differ.
            let mut vfs = *inner;
            let wrapped = std::mem::size_of::<WalFile>() as c_int + (*inner).szOsFile;
            vfs.szOsFile = wrapped.max((*inner).szOsFile);
            vfs.zName = VFS_NAME.as_ptr();
            vfs.pNext = ptr::null_mut();
            vfs.xOpen = Some(open);
            let rc = ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0);
            if rc != ffi::SQLITE_OK {
                return Err(format!("cannot register the {VFS_NAME:?} VFS (SQLite error {rc})"));
            }
            Ok(())
        }
    })
    .clone()
}

/// An open WAL file: the default VFS's file lives right after this header.
#[repr(C)]
struct WalFile {
    /// `pMethods` points to [`WAL_METHODS`].
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    held: *mut Held,
}

/// Bytes SQLite asked to write at `start..start + bytes.len()`, not yet written.
#[derive(Default)]
struct Held {
    start: i64,
    bytes: Vec<u8>,
    /// The end of the log as this connection has written it (held bytes included) since it
    /// last wrote the WAL header. Only writes from here on are new frames; a write below it
    /// rewrites an existing frame (SQLite fixes up spilled frames' checksums after the commit
    /// frame: `walRewriteChecksums`), and is written at once, never held.
    log_end: i64,
    /// The last held write was a frame header; its page is expected next.
    header_last: bool,
    /// That header ends a transaction: write everything once its page is held.
    commit: bool,
}

impl Held {
    fn end(&self) -> i64 {
        self.start + self.bytes.len() as i64
    }
}

unsafe extern "C" fn open(_vfs: *mut ffi::sqlite3_vfs, name: ffi::sqlite3_filename, file: *mut ffi::sqlite3_file, flags: c_int, out_flags: *mut c_int) -> c_int {
    let inner_vfs = INNER.load(Ordering::Acquire);
    let inner_open = match (*inner_vfs).xOpen {
        Some(f) => f,
        None => return ffi::SQLITE_CANTOPEN,
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // `file` has room for the default VFS's file (szOsFile is at least its size).
        return inner_open(inner_vfs, name, file, flags, out_flags);
    }
    let wal = file as *mut WalFile;
    let inner = (file as *mut u8).add(std::mem::size_of::<WalFile>()) as *mut ffi::sqlite3_file;
    let rc = inner_open(inner_vfs, name, inner, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        // SQLite calls no method of a file whose open failed and left pMethods null.
        (*file).pMethods = ptr::null();
        return rc;
    }
    ptr::write(wal, WalFile { base: ffi::sqlite3_file { pMethods: &WAL_METHODS }, inner, held: Box::into_raw(Box::default()) });
    ffi::SQLITE_OK
}

/// The wrapped file's methods (set by the default VFS's open).
unsafe fn inner_methods(file: *mut ffi::sqlite3_file) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    let inner = (*(file as *mut WalFile)).inner;
    (inner, &*(*inner).pMethods)
}

/// Writes the held bytes (if any) in one call.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    let held = &mut *(*(file as *mut WalFile)).held;
    held.header_last = false;
    held.commit = false;
    if held.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let (inner, methods) = inner_methods(file);
    let Some(write) = methods.xWrite else {
        held.bytes.clear();
        return ffi::SQLITE_IOERR_WRITE;
    };
    let mut rc = ffi::SQLITE_OK;
    let mut offset = held.start;
    for chunk in held.bytes.chunks(MAX_WRITE) {
        rc = write(inner, chunk.as_ptr() as *const c_void, chunk.len() as c_int, offset);
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += chunk.len() as i64;
    }
    held.bytes.clear();
    rc
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    let held = &mut *(*(file as *mut WalFile)).held;
    let len = amount as usize;
    let bytes = std::slice::from_raw_parts(data as *const u8, len);
    if offset == 0 {
        // The WAL header: the log starts over (after a checkpoint emptied it).
        held.log_end = 0;
    }
    let appends = offset >= held.log_end && (held.bytes.is_empty() || offset == held.end());
    held.log_end = held.log_end.max(offset + len as i64);
    if appends && !held.header_last && len == FRAME_HEADER {
        if held.bytes.is_empty() {
            held.start = offset;
        }
        held.bytes.extend_from_slice(bytes);
        held.header_last = true;
        held.commit = bytes[4..8] != [0, 0, 0, 0];
        return ffi::SQLITE_OK;
    }
    if appends && held.header_last && !held.bytes.is_empty() {
        held.bytes.extend_from_slice(bytes);
        held.header_last = false;
        if held.commit || held.bytes.len() >= HOLD_LIMIT {
            return flush(file);
        }
        return ffi::SQLITE_OK;
    }
    // Anything else (the WAL header, a page rewritten in place, a checksum fix-up) is written
    // as it comes, after what is held.
    let rc = flush(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let (inner, methods) = inner_methods(file);
    match methods.xWrite {
        Some(write) => write(inner, data, amount, offset),
        None => ffi::SQLITE_IOERR_WRITE,
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let flushed = flush(file);
    let (inner, methods) = inner_methods(file);
    let closed = match methods.xClose {
        Some(close) => close(inner),
        None => ffi::SQLITE_OK,
    };
    let wal = file as *mut WalFile;
    drop(Box::from_raw((*wal).held));
    (*wal).held = ptr::null_mut();
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

/// Forwards a method to the wrapped file, after writing what is held (`flush first`) or not.
macro_rules! forward {
    ($name:ident, $method:ident, flush first, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let (inner, methods) = inner_methods(file);
            match methods.$method {
                Some(f) => f(inner $(, $arg)*),
                None => ffi::SQLITE_IOERR,
            }
        }
    };
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let (inner, methods) = inner_methods(file);
            match methods.$method {
                Some(f) => f(inner $(, $arg)*),
                None => $missing,
            }
        }
    };
}

forward!(read, xRead, flush first, (buf: *mut c_void, amount: c_int, offset: i64));
forward!(truncate, xTruncate, flush first, (size: i64));
forward!(sync, xSync, flush first, (flags: c_int));
forward!(file_size, xFileSize, flush first, (size: *mut i64));
forward!(file_control, xFileControl, flush first, (op: c_int, arg: *mut c_void));
forward!(lock, xLock, (level: c_int), ffi::SQLITE_IOERR_LOCK);
forward!(unlock, xUnlock, (level: c_int), ffi::SQLITE_IOERR_UNLOCK);
forward!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int), ffi::SQLITE_IOERR_CHECKRESERVEDLOCK);
forward!(sector_size, xSectorSize, (), 4096);
forward!(device_characteristics, xDeviceCharacteristics, (), 0);
forward!(shm_map, xShmMap, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void), ffi::SQLITE_IOERR_SHMMAP);
forward!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int), ffi::SQLITE_IOERR_SHMLOCK);
forward!(shm_unmap, xShmUnmap, (delete: c_int), ffi::SQLITE_OK);
forward!(fetch, xFetch, (offset: i64, amount: c_int, out: *mut *mut c_void), ffi::SQLITE_OK);
forward!(unfetch, xUnfetch, (offset: i64, page: *mut c_void), ffi::SQLITE_OK);

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let (inner, methods) = inner_methods(file);
    if let Some(f) = methods.xShmBarrier {
        f(inner);
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags};

    use super::*;

    fn open_pair(dir: &std::path::Path) -> (Connection, Connection) {
        register().unwrap();
        let path = dir.join("t.db");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let writer = Connection::open_with_flags_and_vfs(&path, flags, VFS_NAME).unwrap();
        let mode: String = writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        writer.pragma_update(None, "synchronous", "NORMAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
        (writer, reader)
    }

    #[test]
    fn commits_are_visible_to_other_connections_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open_pair(dir.path());
        for i in 0..200 {
            writer.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![i, format!("v{i}")]).unwrap();
            let n: i64 = reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(n, i + 1);
        }
        let v: String = reader.query_row("SELECT v FROM t WHERE k = 150", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "v150");
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    fn integrity(conn: &Connection) {
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn a_transaction_larger_than_one_write_call_commits_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, reader) = open_pair(dir.path());
        // About 2 MB of pages: many times HOLD_LIMIT and MAX_WRITE.
        let tx = writer.transaction().unwrap();
        for i in 0..2_000 {
            tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![i, "x".repeat(1_000)]).unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(count(&reader), 2_000);
        integrity(&reader);
    }

    #[test]
    fn a_rolled_back_spilled_transaction_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, reader) = open_pair(dir.path());
        writer.execute("INSERT INTO t (k, v) VALUES (1, 'kept')", []).unwrap();
        // A tiny page cache makes SQLite write frames to the WAL before the commit.
        writer.pragma_update(None, "cache_size", 10).unwrap();
        let tx = writer.transaction().unwrap();
        for i in 2..3_000 {
            tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![i, "y".repeat(500)]).unwrap();
        }
        let inside: i64 = tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(inside, 2_999);
        tx.rollback().unwrap();
        assert_eq!(count(&reader), 1);
        writer.execute("INSERT INTO t (k, v) VALUES (2, 'after')", []).unwrap();
        assert_eq!(count(&reader), 2);
        let v: String = reader.query_row("SELECT v FROM t WHERE k = 2", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "after");
        integrity(&reader);
    }

    /// What a kill -9 leaves: the database and WAL files as the kernel has them, copied while
    /// the writer is still open (nothing it holds is written on close), opened by plain SQLite.
    fn after_a_crash(dir: &std::path::Path) -> Connection {
        let copy = dir.join("crash");
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(dir.join("t.db"), copy.join("t.db")).unwrap();
        std::fs::copy(dir.join("t.db-wal"), copy.join("t.db-wal")).unwrap();
        Connection::open(copy.join("t.db")).unwrap()
    }

    #[test]
    fn a_spilled_transaction_that_rewrites_its_pages_is_in_the_kernel_when_it_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, reader) = open_pair(dir.path());
        writer.execute("INSERT INTO t (k, v) VALUES (0, 'before')", []).unwrap();
        // A tiny page cache spills frames before the commit; changing the same rows again
        // overwrites spilled frames, so SQLite rewrites the frames' checksums after it has
        // written the commit frame (walRewriteChecksums), ending with the commit frame's header.
        writer.pragma_update(None, "cache_size", 10).unwrap();
        let tx = writer.transaction().unwrap();
        for i in 1..2_000 {
            tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![i, "z".repeat(300)]).unwrap();
        }
        tx.execute("UPDATE t SET v = 'changed' WHERE k < 1000", []).unwrap();
        tx.commit().unwrap();
        assert_eq!(count(&reader), 2_000);
        let crashed = after_a_crash(dir.path());
        assert_eq!(count(&crashed), 2_000, "the acknowledged commit survives a crash");
        let v: String = crashed.query_row("SELECT v FROM t WHERE k = 999", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "changed");
        integrity(&crashed);
    }

    #[test]
    fn checkpoints_and_a_restarted_wal_keep_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open_pair(dir.path());
        for round in 0..5 {
            for i in 0..100 {
                writer.execute("INSERT INTO t (k, v) VALUES (?1, 'v')", [round * 100 + i]).unwrap();
            }
            // Another connection copies the WAL back and starts it over; the writer then
            // writes a new WAL header and frames from the start of the file.
            reader.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
        }
        assert_eq!(count(&reader), 500);
        integrity(&reader);
        drop(writer);
        drop(reader);
        let again = Connection::open(dir.path().join("t.db")).unwrap();
        assert_eq!(count(&again), 500);
        integrity(&again);
    }
}

//! Log set-up for `canopy serve`: lines go to stderr through one shared buffer.
//!
//! A request thread formats its line and copies it into the buffer under a mutex; a flusher
//! thread empties the buffer every [`FLUSH_EVERY`] (and a full buffer is written at once). So a
//! busy server makes one write call per 64 KiB of log, not one per request, and no request
//! waits for another thread to wake up; an idle server shows a line within [`FLUSH_EVERY`].

use std::io::{self, BufWriter, Stderr, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::serve::LogFormat;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
const BUFFER_BYTES: usize = 64 * 1024;

struct Shared {
    out: Mutex<BufWriter<Stderr>>,
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn lock_out(&self) -> MutexGuard<'_, BufWriter<Stderr>> {
        // A panic while holding the lock leaves at worst a partial line: keep logging.
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct SharedStderr(Arc<Shared>);

/// The buffer, locked for one log line.
struct LockedStderr<'a>(MutexGuard<'a, BufWriter<Stderr>>);

impl Write for LockedStderr<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        // Flushing is the flusher thread's job; a line never waits for a write call.
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for SharedStderr {
    type Writer = LockedStderr<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        LockedStderr(self.0.lock_out())
    }
}

/// Flushes what is buffered and stops the flusher when dropped (at the end of `serve`).
pub struct LogGuard {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        *self.shared.stopping.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        let _ = self.shared.lock_out().flush();
    }
}

fn flush_loop(shared: Arc<Shared>) {
    let mut stopping = shared.stopping.lock().unwrap_or_else(PoisonError::into_inner);
    while !*stopping {
        stopping = shared.wake.wait_timeout(stopping, FLUSH_EVERY).unwrap_or_else(PoisonError::into_inner).0;
        let _ = shared.lock_out().flush();
    }
}

/// Installs the global subscriber: the `CANOPY_LOG` filter (default `info`), text or JSON lines.
pub fn init(format: LogFormat) -> anyhow::Result<LogGuard> {
    let filter = match std::env::var("CANOPY_LOG") {
        Ok(directives) if !directives.trim().is_empty() => {
            EnvFilter::try_new(&directives).with_context(|| format!("invalid CANOPY_LOG {directives:?}"))?
        }
        _ => EnvFilter::new("info"),
    };
    let shared = Arc::new(Shared {
        out: Mutex::new(BufWriter::with_capacity(BUFFER_BYTES, io::stderr())),
        stopping: Mutex::new(false),
        wake: Condvar::new(),
    });
    let flusher = std::thread::Builder::new()
        .name("canopy-log-flush".into())
        .spawn({
            let shared = shared.clone();
            move || flush_loop(shared)
        })
        .context("cannot start the log flusher thread")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(SharedStderr(shared.clone()));
    match format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(LogGuard { shared, flusher: Some(flusher) })
}

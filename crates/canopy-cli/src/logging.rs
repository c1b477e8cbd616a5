//! Log set-up for `canopy serve`: lines go to stderr through one shared buffer.
//!
//! A request thread formats its line and appends it to the buffer under a mutex; a flusher
//! thread takes the whole buffer every [`FLUSH_EVERY`] (sooner once it holds [`FLUSH_AT`]) and
//! writes it with the lock released. So a busy server makes one write call per 64 KiB of log,
//! not one per request, and no request ever waits for a write call: when stderr is not being
//! read (a full pipe) the buffer grows to [`MAX_PENDING`], and lines beyond that are dropped and
//! counted, the count reported in the log once stderr moves again. Write errors (a closed pipe)
//! are ignored: the log is lost, the server keeps serving.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::serve::LogFormat;

mod request_line;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is written at once rather than at the next tick.
const FLUSH_AT: usize = 64 * 1024;
/// Log held while stderr does not take it; lines beyond are dropped.
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// How long the end of `serve` waits for the last lines to be written to a stderr that may never
/// be read again.
const FINAL_FLUSH_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Lines dropped since the flusher last looked, because `bytes` was at [`MAX_PENDING`].
    dropped: u64,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves at worst a partial line: keep logging.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct SharedStderr(Arc<Shared>);

/// The buffer, locked for one log line (the formatter writes a line with one `write_all`).
struct LockedStderr<'a> {
    pending: MutexGuard<'a, Pending>,
    wake: &'a Condvar,
}

impl Write for LockedStderr<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let before = self.pending.bytes.len();
        if before + buf.len() > MAX_PENDING {
            self.pending.dropped += 1;
        } else {
            self.pending.bytes.extend_from_slice(buf);
            if before < FLUSH_AT && self.pending.bytes.len() >= FLUSH_AT {
                self.wake.notify_one();
            }
        }
        // Never an error: tracing-subscriber reports a failed write by printing to stderr, and
        // that print panics when stderr is a closed pipe.
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        // Writing is the flusher thread's job; a line never waits for a write call.
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for SharedStderr {
    type Writer = LockedStderr<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        LockedStderr { pending: self.0.lock(), wake: &self.0.wake }
    }
}

/// Stops the flusher when dropped (at the end of `serve`), giving it [`FINAL_FLUSH_WAIT`] to
/// write what is buffered.
pub struct LogGuard {
    shared: Arc<Shared>,
    flushed: mpsc::Receiver<()>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        // A flusher blocked on a pipe nobody reads is left behind; the process ends anyway.
        let _ = self.flushed.recv_timeout(FINAL_FLUSH_WAIT);
    }
}

fn flush_loop(shared: Arc<Shared>, flushed: mpsc::Sender<()>) {
    let mut out = io::stderr();
    let mut taken = Vec::with_capacity(FLUSH_AT);
    loop {
        let stopping;
        let dropped;
        {
            let mut pending = shared.lock();
            if pending.bytes.len() < FLUSH_AT && !shared.stopping.load(Ordering::Acquire) {
                pending = shared.wake.wait_timeout(pending, FLUSH_EVERY).unwrap_or_else(PoisonError::into_inner).0;
            }
            stopping = shared.stopping.load(Ordering::Acquire);
            std::mem::swap(&mut pending.bytes, &mut taken);
            dropped = std::mem::take(&mut pending.dropped);
        }
        // Errors are ignored: with stderr closed there is nowhere left to report them.
        if dropped > 0 {
            let _ = writeln!(out, "canopy: {dropped} log line(s) dropped: stderr was not taking them");
        }
        if !taken.is_empty() {
            let _ = out.write_all(&taken);
            taken.clear();
            // Give back the memory of a backlog once it is written.
            taken.shrink_to(FLUSH_AT);
        }
        if stopping {
            let _ = flushed.send(());
            return;
        }
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
    let shared = Arc::new(Shared { pending: Mutex::new(Pending::default()), wake: Condvar::new(), stopping: AtomicBool::new(false) });
    let (flushed_tx, flushed) = mpsc::channel();
    std::thread::Builder::new()
        .name("canopy-log-flush".into())
        .spawn({
            let shared = shared.clone();
            move || flush_loop(shared, flushed_tx)
        })
        .context("cannot start the log flusher thread")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(SharedStderr(shared.clone()));
    match format {
        LogFormat::Text => builder.with_ansi(false).event_format(request_line::TextFormat::new()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(LogGuard { shared, flushed })
}

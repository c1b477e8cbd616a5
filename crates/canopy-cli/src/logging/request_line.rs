//! The text format's request line, written without tracing-subscriber's generic field visitor.
//!
//! Every request logs one line (target `canopy::request`). Formatted by tracing-subscriber's
//! default text format it cost about 16,000 instructions (callgrind, TagResource): its field
//! visitor runs each field through `write!` with ANSI style wrappers, and its timer converts the
//! time to a date for every line. This format writes the same bytes for that line with plain
//! string writes and a date computed once per second per thread; every other event, and any line
//! with colours, a span scope or a field the fast path does not cover, goes to the default
//! format unchanged. The tests compare the two formats byte for byte.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The target of the per-request line (canopy-server's `observe`).
const REQUEST_TARGET: &str = "canopy::request";

/// tracing-subscriber's default text format, with the request line taken on a shorter path.
pub(super) struct TextFormat {
    default: Format<Full>,
}

impl TextFormat {
    pub(super) fn new() -> Self {
        TextFormat { default: Format::default() }
    }
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != REQUEST_TARGET
            || writer.has_ansi_escapes()
            || !meta.fields().iter().all(|f| plain_name(f.name()))
            || ctx.event_scope().is_some()
        {
            return self.default.format_event(ctx, writer, event);
        }
        write_timestamp(&mut writer)?;
        writer.write_str(level_label(meta.level()))?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        let mut fields = PlainFields { writer: &mut writer, first: true, result: Ok(()) };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// A field name the default visitor writes as `name=`: not the message (written bare), not a
/// raw identifier (`r#` dropped), not the `log` crate's metadata (skipped).
fn plain_name(name: &str) -> bool {
    name != "message" && !name.starts_with("r#") && !name.starts_with("log.")
}

/// The default format's level column without colours: right-aligned in five, then a space.
fn level_label(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE ",
        Level::DEBUG => "DEBUG ",
        Level::INFO => " INFO ",
        Level::WARN => " WARN ",
        Level::ERROR => "ERROR ",
    }
}

/// `name=value` pairs separated by one space, each value as the default visitor writes it:
/// `Debug` (so `%` values show their `Display`, strings are quoted), integers and booleans bare.
struct PlainFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PlainFields<'_, '_> {
    fn name(&mut self, field: &Field) -> fmt::Result {
        if self.first {
            self.first = false;
        } else {
            self.writer.write_char(' ')?;
        }
        self.writer.write_str(field.name())?;
        self.writer.write_char('=')
    }

    fn put(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| value(self.writer));
        }
    }
}

impl Visit for PlainFields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |w| write_u64(w, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |w| {
            if value < 0 {
                w.write_char('-')?;
            }
            write_u64(w, value.unsigned_abs())
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, |w| write!(w, "{value:?}"));
    }
}

fn write_u64(w: &mut Writer<'_>, mut value: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    w.write_str(std::str::from_utf8(&digits[start..]).map_err(|_| fmt::Error)?)
}

/// `YYYY-MM-DDTHH:MM:SS.` of one second, as the default timer writes it.
struct SecondPrefix {
    second: u64,
    text: [u8; 20],
}

thread_local! {
    static PREFIX: RefCell<Option<SecondPrefix>> = const { RefCell::new(None) };
}

/// The default timer's timestamp (`2026-12-07T16:09:29.736185Z`) and the space after it.
fn write_timestamp(w: &mut Writer<'_>) -> fmt::Result {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) if since.as_secs() < LAST_FOUR_DIGIT_YEAR_END => {
            let text = timestamp(since.as_secs(), since.subsec_micros());
            w.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
            w.write_char(' ')
        }
        // Before 1970 or after 9999: the default timer's own spelling.
        _ => {
            if tracing_subscriber::fmt::time::SystemTime.format_time(w).is_err() {
                w.write_str("<unknown time>")?;
            }
            w.write_char(' ')
        }
    }
}

/// 10000-01-01T00:00:00Z in seconds since the epoch.
const LAST_FOUR_DIGIT_YEAR_END: u64 = 253_402_300_800;

/// The timestamp of `second` (since the epoch, before year 10000) and `micros` into it.
fn timestamp(second: u64, micros: u32) -> [u8; 27] {
    let mut out = [0u8; 27];
    PREFIX.with(|cell| {
        let mut cached = cell.borrow_mut();
        let prefix = match &mut *cached {
            Some(p) if p.second == second => p,
            slot => slot.insert(SecondPrefix { second, text: second_prefix(second) }),
        };
        out[..20].copy_from_slice(&prefix.text);
    });
    let mut rest = micros.min(999_999);
    for d in out[20..26].iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out[26] = b'Z';
    out
}

fn second_prefix(second: u64) -> [u8; 20] {
    let days = (second / 86_400) as i64;
    let in_day = second % 86_400;
    let (year, month, day) = canopy_calendar::civil_from_days(days);
    let mut text = [0u8; 20];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            text[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u64, 4);
    put(5, month as u64, 2);
    put(8, day as u64, 2);
    put(11, in_day / 3600, 2);
    put(14, in_day / 60 % 60, 2);
    put(17, in_day % 60, 2);
    for (at, sep) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        text[at] = sep;
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// The events canopy-server's request line and others are made of.
    fn emit_events() {
        let method = "POST";
        let path = "/";
        for (operation, account, status, error, latency_us) in [
            ("CreateOrganizationalUnit", "123456789012", 200u16, "-", 1234u64),
            ("-", "-", 404, "UnknownOperationException", 0),
            ("DescribeOrganization", "000000000001", 400, "AWSOrganizationsNotInUseException", u64::MAX),
        ] {
            tracing::info!(
                target: "canopy::request",
                method = %method,
                path = %path,
                operation = %operation,
                account = %account,
                status,
                error = %error,
                latency_us,
                request_id = %"b41a3a30-5474-4f20-b50d-8f18f4eb7c6e",
            );
            tracing::error!(target: "canopy::request", method = %method, status, latency_us);
        }
        // Other field kinds on the fast path, and events the fast path leaves to the default.
        tracing::warn!(target: "canopy::request", quoted = "a \"b\"\n", negative = -42i64, yes = true, float = 1.5f64);
        tracing::info!(target: "canopy::request", status = 200u16, "with a message");
        tracing::info!(target: "canopy::request", r#type = "raw");
        tracing::info!(target: "canopy::serve", addr = %"127.0.0.1:1", store = "sqlite-memory", "serving");
        let span = tracing::info_span!("outer", n = 1);
        let _entered = span.enter();
        tracing::info!(target: "canopy::request", status = 500u16);
    }

    fn capture(
        format: impl FormatEvent<tracing_subscriber::Registry, tracing_subscriber::fmt::format::DefaultFields>
            + Send
            + Sync
            + 'static,
    ) -> Vec<String> {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(Level::TRACE)
            .with_writer(out.clone())
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, emit_events);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn lines_match_the_default_format_byte_for_byte_after_the_timestamp() {
        let fast = capture(TextFormat::new());
        let default = capture(Format::default());
        assert_eq!(fast.len(), 11, "{fast:#?}");
        assert_eq!(fast.len(), default.len());
        for (f, d) in fast.iter().zip(&default) {
            // Timestamps differ by when each ran; both are 27 characters then a space.
            assert_eq!(f.as_bytes()[27], b' ', "{f}");
            assert_eq!(d.as_bytes()[27], b' ', "{d}");
            assert_eq!(f[28..], d[28..]);
        }
        assert_eq!(
            &fast[0][28..],
            " INFO canopy::request: method=POST path=/ operation=CreateOrganizationalUnit account=123456789012 \
             status=200 error=- latency_us=1234 request_id=b41a3a30-5474-4f20-b50d-8f18f4eb7c6e"
        );
        assert_eq!(&fast[1][28..], "ERROR canopy::request: method=POST status=200 latency_us=1234");
        assert!(fast[5].ends_with(&format!("latency_us={}", u64::MAX)), "{}", fast[5]);
        assert_eq!(&fast[6][28..], " WARN canopy::request: quoted=\"a \\\"b\\\"\\n\" negative=-42 yes=true float=1.5");
    }

    #[test]
    fn the_timestamp_has_the_default_timers_spelling() {
        for (second, micros, expected) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.000005Z"),
            (1_796_659_769, 736_185, "2026-12-07T16:09:29.736185Z"),
            (4_102_444_799, 999_999, "2099-12-31T23:59:59.999999Z"),
            (LAST_FOUR_DIGIT_YEAR_END - 1, 1, "9999-12-31T23:59:59.000001Z"),
        ] {
            assert_eq!(timestamp(second, micros), expected.as_bytes());
            // A second time from the per-thread cache.
            assert_eq!(timestamp(second, micros), expected.as_bytes());
        }
    }

    #[test]
    fn the_timestamp_is_now() {
        let before = tracing_subscriber::fmt::time::SystemTime;
        let mut default = String::new();
        before.format_time(&mut Writer::new(&mut default)).unwrap();
        let mut fast = String::new();
        write_timestamp(&mut Writer::new(&mut fast)).unwrap();
        // Same second unless the two calls straddle one; the prefix up to the seconds agrees.
        assert_eq!(fast.len(), 28);
        assert_eq!(fast[..16], default[..16], "{fast} against {default}");
    }
}

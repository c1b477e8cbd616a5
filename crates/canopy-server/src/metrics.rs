//! Request metrics, served at `GET /canopy/v1/metrics` in Prometheus's text format (0.0.4).
//!
//! Recorded by the same layer that writes the request log line (`observe`), from the same
//! facts: the operation, the HTTP status, the error code and the time to the response. Each
//! request costs a read lock and a few relaxed atomic additions; only error answers take a
//! mutex (their counts are keyed by error code).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Upper bounds of the latency histogram's buckets, in microseconds (the last bucket, `+Inf`,
/// is implicit). From 100 µs, where Canopy's reads answer, to 10 s.
const BUCKETS_US: [u64; 16] =
    [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000];

/// The label of requests that name no operation (health, reset, unknown paths).
const NO_OPERATION: &str = "-";

/// One operation's counts.
#[derive(Default)]
struct OperationStats {
    /// Answers by status class: index 0 for 1xx … 4 for 5xx.
    by_class: [AtomicU64; 5],
    /// Answers per latency bucket (not cumulative; the last is `+Inf`).
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    latency_sum_us: AtomicU64,
}

impl OperationStats {
    fn add(&self, status: u16, us: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Relaxed);
        let bucket = BUCKETS_US.iter().position(|&le| us <= le).unwrap_or(BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(us, Relaxed);
    }
}

/// The server's request metrics. One per [`crate::router`].
pub(crate) struct Metrics {
    started: Instant,
    operations: RwLock<HashMap<&'static str, OperationStats>>,
    errors: Mutex<HashMap<(&'static str, &'static str), u64>>,
    in_flight: AtomicI64,
}

/// Counts a request as in flight until dropped (also when the client goes away mid-request
/// and the request's future is dropped).
pub(crate) struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            operations: RwLock::default(),
            errors: Mutex::default(),
            in_flight: AtomicI64::new(0),
        }
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(self)
    }

    /// Records one answered request.
    pub fn record(&self, operation: Option<&'static str>, status: u16, error: Option<&'static str>, latency: Duration) {
        let operation = operation.unwrap_or(NO_OPERATION);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // A poisoned lock only means a panic elsewhere while it was held; the map is still whole.
        let known = self.operations.read().unwrap_or_else(|p| p.into_inner()).get(operation).map(|s| s.add(status, us)).is_some();
        if !known {
            self.operations.write().unwrap_or_else(|p| p.into_inner()).entry(operation).or_default().add(status, us);
        }
        if let Some(code) = error {
            let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            *errors.entry((operation, code)).or_insert(0) += 1;
        }
    }

    /// The metrics in Prometheus's text format. `info`: labels of `canopy_info`.
    pub fn render(&self, info: &[(&str, &str)]) -> String {
        let map = self.operations.read().unwrap_or_else(|p| p.into_inner());
        let operations: BTreeMap<&'static str, &OperationStats> = map.iter().map(|(k, v)| (*k, v)).collect();
        let errors: BTreeMap<(&'static str, &'static str), u64> =
            self.errors.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, *v)).collect();
        let mut out = String::with_capacity(1024 + operations.len() * 1600);

        out.push_str("# HELP canopy_info Build and configuration of this server (always 1).\n# TYPE canopy_info gauge\ncanopy_info{");
        for (i, (k, v)) in info.iter().enumerate() {
            let _ = write!(out, "{}{k}=\"{}\"", if i > 0 { "," } else { "" }, escape(v));
        }
        out.push_str("} 1\n");
        let _ = writeln!(
            out,
            "# HELP canopy_uptime_seconds Seconds since the server started.\n# TYPE canopy_uptime_seconds gauge\ncanopy_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP canopy_requests_in_flight Requests received and not yet answered.\n# TYPE canopy_requests_in_flight gauge\ncanopy_requests_in_flight {}",
            self.in_flight.load(Relaxed).max(0)
        );

        out.push_str("# HELP canopy_requests_total Requests answered, by operation and HTTP status class.\n# TYPE canopy_requests_total counter\n");
        for (op, s) in &operations {
            for (i, n) in s.by_class.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    let _ = writeln!(out, "canopy_requests_total{{operation=\"{op}\",status=\"{}xx\"}} {n}", i + 1);
                }
            }
        }

        out.push_str("# HELP canopy_request_errors_total Error answers, by operation and AWS error code.\n# TYPE canopy_request_errors_total counter\n");
        for ((op, code), n) in &errors {
            let _ = writeln!(out, "canopy_request_errors_total{{operation=\"{op}\",code=\"{code}\"}} {n}");
        }

        out.push_str(
            "# HELP canopy_request_duration_seconds Time from a request's arrival to its answer, by operation.\n\
             # TYPE canopy_request_duration_seconds histogram\n",
        );
        for (op, s) in &operations {
            let mut cumulative = 0u64;
            for (i, b) in s.buckets.iter().enumerate() {
                cumulative += b.load(Relaxed);
                let le = match BUCKETS_US.get(i) {
                    Some(us) => format!("{}", *us as f64 / 1e6),
                    None => "+Inf".to_owned(),
                };
                let _ = writeln!(out, "canopy_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(
                out,
                "canopy_request_duration_seconds_sum{{operation=\"{op}\"}} {}\ncanopy_request_duration_seconds_count{{operation=\"{op}\"}} {cumulative}",
                s.latency_sum_us.load(Relaxed) as f64 / 1e6
            );
        }
        out
    }
}

/// A label value as Prometheus's text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line {prefix:?} in\n{text}"))
    }

    #[test]
    fn counts_buckets_and_errors_add_up() {
        let m = Metrics::new();
        m.record(Some("ListRoots"), 200, None, Duration::from_micros(90));
        m.record(Some("ListRoots"), 200, None, Duration::from_micros(100));
        m.record(Some("ListRoots"), 200, None, Duration::from_micros(101));
        m.record(Some("ListRoots"), 400, Some("InvalidInputException"), Duration::from_secs(20));
        m.record(None, 404, None, Duration::from_micros(5));
        let text = m.render(&[("version", "1.0"), ("store", "sqlite-memory")]);
        assert!(text.contains("canopy_info{version=\"1.0\",store=\"sqlite-memory\"} 1\n"), "{text}");
        assert_eq!(line(&text, "canopy_requests_total{operation=\"ListRoots\",status=\"2xx\"}"), "canopy_requests_total{operation=\"ListRoots\",status=\"2xx\"} 3");
        assert_eq!(line(&text, "canopy_requests_total{operation=\"ListRoots\",status=\"4xx\"}"), "canopy_requests_total{operation=\"ListRoots\",status=\"4xx\"} 1");
        assert_eq!(line(&text, "canopy_requests_total{operation=\"-\","), "canopy_requests_total{operation=\"-\",status=\"4xx\"} 1");
        assert_eq!(
            line(&text, "canopy_request_errors_total{operation=\"ListRoots\""),
            "canopy_request_errors_total{operation=\"ListRoots\",code=\"InvalidInputException\"} 1"
        );
        // 90 and 100 µs are in the first bucket (le is inclusive), 101 µs in the second; 20 s only in +Inf.
        assert!(text.contains("canopy_request_duration_seconds_bucket{operation=\"ListRoots\",le=\"0.0001\"} 2\n"), "{text}");
        assert!(text.contains("canopy_request_duration_seconds_bucket{operation=\"ListRoots\",le=\"0.00025\"} 3\n"), "{text}");
        assert!(text.contains("canopy_request_duration_seconds_bucket{operation=\"ListRoots\",le=\"10\"} 3\n"), "{text}");
        assert!(text.contains("canopy_request_duration_seconds_bucket{operation=\"ListRoots\",le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("canopy_request_duration_seconds_count{operation=\"ListRoots\"} 4\n"), "{text}");
        assert!(text.contains("canopy_request_duration_seconds_sum{operation=\"ListRoots\"} 20.000291\n"), "{text}");
    }

    #[test]
    fn in_flight_falls_when_the_guard_drops() {
        let m = Metrics::new();
        let a = m.start();
        let b = m.start();
        assert!(m.render(&[]).contains("canopy_requests_in_flight 2\n"));
        drop(a);
        drop(b);
        assert!(m.render(&[]).contains("canopy_requests_in_flight 0\n"));
    }
}

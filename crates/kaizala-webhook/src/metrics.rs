//! The receiver's counters and ack-latency histogram.
//!
//! Kept as plain atomics rather than through a metrics crate: they must be
//! readable in code (tests and the CLI read them) as much as exported, and
//! the Prometheus text format for a handful of series is a few lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::exposition::{Exposition, Kind};

/// Upper bounds of the ack-latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Live counters, shared by the service and the processor.
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    duplicate: AtomicU64,
    auth_failed: AtomicU64,
    quarantined: AtomicU64,
    stored: AtomicU64,
    handler_failed: AtomicU64,
    dead_lettered: AtomicU64,
    store_failed: AtomicU64,
    /// Per bucket (not cumulative); the last one is `+Inf`.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_ns: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Event POSTs to the callback path (before authentication).
    pub received: u64,
    /// Events already stored (acknowledged again, stored once).
    pub duplicate: u64,
    /// Requests refused for a missing or wrong callback token or context.
    pub auth_failed: u64,
    /// Authenticated bodies that were not events, kept in quarantine.
    pub quarantined: u64,
    /// New events stored.
    pub stored: u64,
    /// Handler runs that failed.
    pub handler_failed: u64,
    /// Events moved to the dead letters.
    pub dead_lettered: u64,
    /// Events (or quarantined bodies) the store failed to take: answered
    /// 503, so the platform delivers them again.
    pub store_failed: u64,
    /// Acknowledged POSTs per latency bucket (not cumulative; one more
    /// entry than [`LATENCY_BUCKETS`], for `+Inf`).
    pub ack_latency_buckets: Vec<u64>,
    /// Sum of the ack latencies.
    pub ack_latency_sum: Duration,
}

impl MetricsSnapshot {
    /// Acknowledged POSTs measured.
    pub fn acks(&self) -> u64 {
        self.ack_latency_buckets.iter().sum()
    }

    /// An upper bound for the `q`-quantile of the ack latency (`q` in
    /// 0..=1): the upper bound of the bucket it falls in, `None` with no
    /// acks or beyond the last finite bucket.
    pub fn ack_latency_quantile(&self, q: f64) -> Option<Duration> {
        let total = self.acks();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, count) in self.ack_latency_buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return LATENCY_BUCKETS
                    .get(bucket)
                    .map(|s| Duration::from_secs_f64(*s));
            }
        }
        None
    }
}

/// One counter of [`Metrics`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Received,
    Duplicate,
    AuthFailed,
    Quarantined,
    Stored,
    HandlerFailed,
    DeadLettered,
    StoreFailed,
}

impl Metrics {
    pub(crate) fn count(&self, counter: Counter) {
        let cell = match counter {
            Counter::Received => &self.received,
            Counter::Duplicate => &self.duplicate,
            Counter::AuthFailed => &self.auth_failed,
            Counter::Quarantined => &self.quarantined,
            Counter::Stored => &self.stored,
            Counter::HandlerFailed => &self.handler_failed,
            Counter::DeadLettered => &self.dead_lettered,
            Counter::StoreFailed => &self.store_failed,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn observe_ack(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        MetricsSnapshot {
            received: get(&self.received),
            duplicate: get(&self.duplicate),
            auth_failed: get(&self.auth_failed),
            quarantined: get(&self.quarantined),
            stored: get(&self.stored),
            handler_failed: get(&self.handler_failed),
            dead_lettered: get(&self.dead_lettered),
            store_failed: get(&self.store_failed),
            ack_latency_buckets: self.latency.iter().map(get).collect(),
            ack_latency_sum: Duration::from_nanos(get(&self.latency_sum_ns)),
        }
    }

    /// The counters in the Prometheus text exposition format (version
    /// 0.0.4), names prefixed `kaizala_webhook_`.
    pub fn prometheus_text(&self) -> String {
        let mut out = Exposition::new();
        self.encode(&mut out);
        out.finish()
    }

    /// Adds the counters to `out` (to export them beside others).
    pub fn encode(&self, out: &mut Exposition) {
        let s = self.snapshot();
        for (name, help, value) in [
            ("received", "Event POSTs to the callback path.", s.received),
            (
                "duplicate",
                "Events already stored, acknowledged again.",
                s.duplicate,
            ),
            (
                "auth_failed",
                "Requests refused for a wrong callback token or context.",
                s.auth_failed,
            ),
            (
                "quarantined",
                "Authenticated bodies kept in quarantine.",
                s.quarantined,
            ),
            ("stored", "New events stored.", s.stored),
            (
                "handler_failed",
                "Handler runs that failed.",
                s.handler_failed,
            ),
            (
                "dead_lettered",
                "Events moved to the dead letters.",
                s.dead_lettered,
            ),
            (
                "store_failed",
                "Events the store failed to take (answered 503).",
                s.store_failed,
            ),
        ] {
            out.single(
                &format!("kaizala_webhook_{name}_total"),
                Kind::Counter,
                help,
                value,
            );
        }
        let name = "kaizala_webhook_ack_latency_seconds";
        out.family(
            name,
            Kind::Histogram,
            "Time from request to acknowledgement.",
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, count) in s.ack_latency_buckets.iter().enumerate() {
            cumulative += count;
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_owned(), f64::to_string);
            out.sample(&bucket, &[("le", &le)], cumulative);
        }
        out.sample(&format!("{name}_sum"), &[], s.ack_latency_sum.as_secs_f64())
            .sample(&format!("{name}_count"), &[], cumulative);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_exports() {
        let metrics = Metrics::default();
        metrics.count(Counter::Received);
        metrics.count(Counter::Received);
        metrics.count(Counter::Stored);
        metrics.observe_ack(Duration::from_micros(300));
        metrics.observe_ack(Duration::from_millis(3));
        metrics.observe_ack(Duration::from_secs(60));
        let s = metrics.snapshot();
        assert_eq!((s.received, s.stored, s.duplicate), (2, 1, 0));
        assert_eq!(s.acks(), 3);
        assert_eq!(
            s.ack_latency_quantile(0.3),
            Some(Duration::from_secs_f64(0.0005))
        );
        assert_eq!(
            s.ack_latency_quantile(0.5),
            Some(Duration::from_secs_f64(0.005))
        );
        assert_eq!(s.ack_latency_quantile(1.0), None, "beyond the last bucket");
        let text = metrics.prometheus_text();
        assert!(
            text.contains("kaizala_webhook_received_total 2\n"),
            "{text}"
        );
        assert!(text.contains("kaizala_webhook_ack_latency_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("kaizala_webhook_ack_latency_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("kaizala_webhook_ack_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("kaizala_webhook_ack_latency_seconds_count 3\n"));
    }

    #[test]
    fn no_acks_no_quantile() {
        assert_eq!(
            Metrics::default().snapshot().ack_latency_quantile(0.99),
            None
        );
    }
}

//! The front's connection counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::exposition::{Exposition, Kind};

/// One exported family: its name, type, help, and how to read it.
type Family = (
    &'static str,
    Kind,
    &'static str,
    fn(&ConnectionSnapshot) -> u64,
);

/// Live connection counters of one front, shared with whoever exports
/// them (`/metrics`).
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    open: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    tls_failed: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSnapshot {
    /// Connections being served now (TLS handshakes included).
    pub open: u64,
    /// Connections taken in under the cap since the start.
    pub accepted: u64,
    /// Connections turned away over the cap (answered 503, or closed when
    /// too many were being turned away at once).
    pub refused: u64,
    /// TLS handshakes that failed or timed out.
    pub tls_failed: u64,
}

impl ConnectionCounters {
    /// The counters now.
    pub fn snapshot(&self) -> ConnectionSnapshot {
        let get = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        ConnectionSnapshot {
            open: get(&self.open),
            accepted: get(&self.accepted),
            refused: get(&self.refused),
            tls_failed: get(&self.tls_failed),
        }
    }

    /// Adds the counters of `fronts` to `out`, each front's samples
    /// labelled `front="NAME"`.
    pub fn encode(out: &mut Exposition, fronts: &[(&str, &ConnectionCounters)]) {
        let families: [Family; 4] = [
            (
                "kaizala_front_connections_open",
                Kind::Gauge,
                "Connections being served now.",
                |s| s.open,
            ),
            (
                "kaizala_front_connections_accepted_total",
                Kind::Counter,
                "Connections taken in under the cap.",
                |s| s.accepted,
            ),
            (
                "kaizala_front_connections_refused_total",
                Kind::Counter,
                "Connections turned away over the cap.",
                |s| s.refused,
            ),
            (
                "kaizala_front_tls_handshakes_failed_total",
                Kind::Counter,
                "TLS handshakes that failed or timed out.",
                |s| s.tls_failed,
            ),
        ];
        let snapshots: Vec<_> = fronts
            .iter()
            .map(|(name, counters)| (*name, counters.snapshot()))
            .collect();
        for (family, kind, help, value) in families {
            out.family(family, kind, help);
            for (name, snapshot) in &snapshots {
                out.sample(family, &[("front", name)], value(snapshot));
            }
        }
    }

    pub(super) fn accepted(self: &Arc<Self>) -> OpenConnection {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(Arc::clone(self))
    }

    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn tls_failed(&self) {
        self.tls_failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// One open connection: counted open until dropped.
#[derive(Debug)]
pub(super) struct OpenConnection(Arc<ConnectionCounters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_exports_per_front() {
        let counters = Arc::new(ConnectionCounters::default());
        let first = counters.accepted();
        let second = counters.accepted();
        counters.refused();
        drop(first);
        assert_eq!(
            counters.snapshot(),
            ConnectionSnapshot {
                open: 1,
                accepted: 2,
                refused: 1,
                tls_failed: 0
            }
        );
        drop(second);
        let other = ConnectionCounters::default();
        let mut out = Exposition::new();
        ConnectionCounters::encode(&mut out, &[("ingest", &counters), ("metrics", &other)]);
        let text = out.finish();
        assert!(
            text.contains("kaizala_front_connections_open{front=\"ingest\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("kaizala_front_connections_accepted_total{front=\"ingest\"} 2\n"));
        assert!(text.contains("kaizala_front_connections_refused_total{front=\"metrics\"} 0\n"));
        assert_eq!(text.matches("# TYPE").count(), 4, "{text}");
    }
}

//! Shared by `kaizala-cli`'s benches (`ingest`, `projection_lag`,
//! `rebuild`): the load generator, the `kaizala ingest` and baseline
//! processes, and — from `kaizala-sink`'s bench support and this crate's
//! tests — the baseline receiver, PostgreSQL databases, the bare insert
//! and the two workloads.

#![allow(dead_code)] // each bench uses part of it

#[path = "../../../kaizala-sink/benches/support/bare_insert.rs"]
pub mod bare_insert;
#[path = "../../../kaizala-sink/benches/support/baseline.rs"]
pub mod baseline;
#[path = "../../tests/ingest_support/mod.rs"]
pub mod ingest_support;
pub mod load;
#[path = "../../../kaizala-sink/benches/support/postgres.rs"]
pub mod postgres;
pub mod process;
#[path = "../../../kaizala-sink/benches/support/survey.rs"]
pub mod survey;

pub use ingest_support::events;

use std::time::{Duration, Instant};

use kaizala_sink::Sink;
use sqlx::Row;

/// Whether this run measures (`cargo bench`, which passes `--bench`) rather
/// than checks once (`cargo test --all-targets`).
pub fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// The projection's watermark and the last position in the event log.
pub async fn watermark_and_head(sink: &Sink) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT (SELECT COALESCE(MAX(value), 0) FROM sink_state WHERE name = 'watermark'), \
         (SELECT COALESCE(MAX(position), 0) FROM events)",
    )
    .fetch_one(sink.pool())
    .await
    .unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

/// Waits until the projector has projected the whole event log (fails
/// after `timeout`); how long it took.
pub async fn caught_up(sink: &Sink, timeout: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (watermark, head) = watermark_and_head(sink).await;
        if watermark >= head {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "the projection did not catch up within {timeout:?}: watermark {watermark}, log head {head}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One number from a query.
pub async fn scalar(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get::<i64, _>(0)
        .unwrap()
}

/// Sorted values: the `q`-quantile (nearest rank).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `12.34 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// `12,345`.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

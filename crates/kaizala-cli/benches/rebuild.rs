//! `kaizala rebuild` of 1,000,000 events against the bare insert of the
//! same rows, in the same run.
//!
//! 1. The log: 1,000,000 events of the mixed workload
//!    (`tests/ingest_support/events.rs`: 70% survey responses with three to
//!    nine answers, 20% text messages, 10% members joining, each member
//!    new) appended to `events` as the receiver appends them — positions
//!    1…N, `eventId`, `eventType`, the time received, the body byte for
//!    byte — 64 rows a statement, and the logs' `head` set to N. (Not timed.)
//! 2. `rebuild`: `Sink::rebuild(&[], …)`, what `kaizala rebuild` runs —
//!    every projected table re-derived from the log beside the live ones
//!    (read, decode, derive, upsert; 5,000 entries a transaction), indexes
//!    built, swapped in. Timed from the call to its return.
//! 3. `bare insert`: exactly the rows the rebuild wrote (read back from the
//!    rebuilt tables before the clock starts) inserted into a fresh set of
//!    the same tables (columns and primary keys as in the database) with
//!    plain multi-row `INSERT`s, 64 rows a statement, no upserts, in as
//!    many transactions as the rebuild used, then the same secondary
//!    indexes built (`kaizala-sink/benches/support/bare_insert.rs`). On a
//!    connection set as the rebuild's own (SQLite `synchronous=NORMAL`,
//!    PostgreSQL `synchronous_commit=off`: both re-derive what a crash
//!    would lose), with parameters written as the sink writes them (`?`
//!    on SQLite, `$n` on PostgreSQL).
//!
//! Target: the rebuild's events per second ≥ 0.5× the bare insert's. The
//! database is settled before each timed phase (SQLite: a WAL checkpoint;
//! PostgreSQL: `VACUUM ANALYZE` of what was written, then `CHECKPOINT`).
//! SQLite always (a temporary file); PostgreSQL when
//! `KAIZALA_TEST_POSTGRES_URL` names a durable server.
//!
//! `cargo bench -p kaizala-cli --bench rebuild` (also run by `cargo xtask
//! bench`); `KAIZALA_BENCH_REBUILD_EVENTS` changes the count. Without
//! `--bench` (`cargo test --all-targets`) it rebuilds 3,000 events and
//! checks every row count.

mod support;

use std::time::{Duration, Instant};

use kaizala_sink::Sink;
use sqlx::{AnyConnection, Connection};
use support::bare_insert;
use support::{
    as_derived_writer, assert_and_drop_bare_copies, assert_projected, baseline, count, fill_log,
    measuring, on_each_backend, read_back, settle, thousands,
};

/// Entries per rebuild transaction (`kaizala-sink`'s rebuild batch).
const REBUILD_BATCH: usize = 5_000;
struct Measured {
    backend: &'static str,
    events: usize,
    fill: Duration,
    rebuild: Duration,
    bare: bare_insert::Timing,
    rows: Vec<(String, usize)>,
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn measure(backend: &'static str, sink_url: &str, sqlx_url: &str, n: usize) -> Measured {
    let sqlite = backend == "SQLite";
    let sink = Sink::connect(sink_url).await.unwrap();
    let mut conn = AnyConnection::connect(sqlx_url).await.unwrap();
    as_derived_writer(&mut conn, sqlite).await;

    let started = Instant::now();
    let expected = fill_log(&sink, sqlite, "rebuild", n).await;
    let fill = started.elapsed();
    settle(&mut conn, sqlite).await;

    let started = Instant::now();
    let report = sink.rebuild(&[], |_| {}).await.unwrap();
    let rebuild = started.elapsed();
    assert_eq!(
        (report.entries, report.errors),
        (n as u64, 0),
        "{backend}: entries rebuilt"
    );
    assert_projected(&sink, backend, &expected).await;

    let tables = read_back(&mut conn, sqlite, backend, &expected).await;
    let transactions = n.div_ceil(REBUILD_BATCH);
    settle(&mut conn, sqlite).await;
    let bare = bare_insert::insert(&mut conn, sqlite, &tables, transactions).await;
    assert_and_drop_bare_copies(&sink, &mut conn, backend, &tables).await;
    let rows = tables
        .iter()
        .filter(|t| t.rows() > 0)
        .map(|t| (t.name.clone(), t.rows()))
        .collect();
    drop(tables);
    let _ = conn.close().await;
    sink.close().await;
    Measured {
        backend,
        events: n,
        fill,
        rebuild,
        bare,
        rows,
    }
}

fn main() {
    baseline::serve_if_child();
    let full = measuring();
    let n = count("KAIZALA_BENCH_REBUILD_EVENTS", 1_000_000, 3_000);
    let runs = on_each_backend("rebuild", full, |backend, sink_url, sqlx_url| async move {
        measure(backend, &sink_url, &sqlx_url, n).await
    });

    let mut out = format!(
        "`rebuild` (`cargo bench -p kaizala-cli --bench rebuild`){}\n\n",
        if full { "" } else { ", smoke run" }
    );
    out.push_str(
        "| backend | events | rebuild | events/s | bare insert + indexes | events/s | rebuild vs bare |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in &runs {
        let bare = m.bare.insert + m.bare.indexes;
        let rebuild_rate = m.events as f64 / m.rebuild.as_secs_f64();
        let bare_rate = m.events as f64 / bare.as_secs_f64();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} ({} + {}) | {} | **{:.2}×** |\n",
            m.backend,
            thousands(m.events as f64),
            secs(m.rebuild),
            thousands(rebuild_rate),
            secs(bare),
            secs(m.bare.insert),
            secs(m.bare.indexes),
            thousands(bare_rate),
            rebuild_rate / bare_rate
        ));
    }
    out.push('\n');
    for m in &runs {
        let rows: Vec<String> = m
            .rows
            .iter()
            .map(|(t, n)| format!("{t} {}", thousands(*n as f64)))
            .collect();
        let spent: Vec<String> = m
            .bare
            .per_table
            .iter()
            .filter(|(t, _)| m.rows.iter().any(|(name, _)| name == t))
            .map(|(t, d)| format!("{t} {}", secs(*d)))
            .collect();
        out.push_str(&format!(
            "{}: rows written: {}; the bare insert's statements per table: {}; the log filled in {}\n",
            m.backend,
            rows.join(", "),
            spent.join(", "),
            secs(m.fill)
        ));
    }
    out.push('\n');
    for m in &runs {
        let ratio = m.bare.insert.as_secs_f64() + m.bare.indexes.as_secs_f64();
        let ratio = ratio / m.rebuild.as_secs_f64();
        let met = if ratio >= 0.5 { "met" } else { "NOT met" };
        out.push_str(&format!(
            "target {} rebuild ≥ 0.50× the bare insert's events/s: {met} ({ratio:.2}×)\n",
            m.backend
        ));
    }
    print!("{out}");
}

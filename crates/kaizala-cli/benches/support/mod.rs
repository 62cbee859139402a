//! Shared by `kaizala-cli`'s benches (`ingest`, `projection_lag`,
//! `rebuild`, `parquet_export`): the log filled with the mixed workload, the load generator, the `kaizala ingest` and baseline
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

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use events::{Kind, sample_event};
use kaizala_sink::Sink;
use sqlx::{AnyConnection, Connection, Executor, Row};

/// The allocator the `kaizala` binary runs on, so a bench compares like
/// with like: what runs in this process (the projector and rebuild
/// measured in place, the bare inserts, and the baseline receiver, which
/// is this binary started again) allocates as `kaizala` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events per transaction while filling the log.
const FILL_BATCH: usize = 10_000;

/// Rows each table should hold after projecting the log.
pub type Expected = BTreeMap<&'static str, u64>;

/// Appends `n` events of the mixed workload (ids starting `prefix`) to the
/// log as the receiver would have — positions 1…N, the body byte for byte,
/// 64 rows a statement, `FILL_BATCH` a transaction, through the sink's
/// log pool (an SQLite file keeps its logs in a file of their own) — and
/// sets the logs' `head`; returns the rows projecting them should give,
/// per table.
pub async fn fill_log(sink: &Sink, sqlite: bool, prefix: &str, n: usize) -> Expected {
    let mut conn = sink.log_pool().acquire().await.unwrap();
    let mut expected = Expected::new();
    let received = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
    let mut i = 0;
    while i < n {
        let end = (i + FILL_BATCH).min(n);
        let mut tx = conn.begin_with(begin).await.unwrap();
        let events: Vec<_> = (i..end)
            .map(|k| sample_event(prefix, k as u64, None))
            .collect();
        for event in &events {
            *expected.entry("event_index").or_default() += 1;
            match event.kind {
                Kind::SurveyResponse => {
                    *expected.entry("responses").or_default() += 1;
                    *expected.entry("answers").or_default() += event.answers as u64;
                }
                Kind::TextMessageCreated => *expected.entry("messages").or_default() += 1,
                Kind::MemberAdded => {
                    *expected.entry("member_changes").or_default() += 1;
                    *expected.entry("members").or_default() += 1;
                }
            }
        }
        for (c, chunk) in events.chunks(64).enumerate() {
            let first = i + c * 64;
            let values: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p = 5 * r;
                    format!("(${},${},${},${},${})", p + 1, p + 2, p + 3, p + 4, p + 5)
                })
                .collect();
            let sql = format!(
                "INSERT INTO events (position, event_id, event_type, received_at, payload) VALUES {}",
                values.join(",")
            );
            let mut query = sqlx::query(&sql);
            for (r, event) in chunk.iter().enumerate() {
                let position = (first + r + 1) as i64;
                query = query
                    .bind(position)
                    .bind(event.id.as_str())
                    .bind(event.kind.event_type())
                    .bind(received + position)
                    .bind(std::str::from_utf8(&event.body).unwrap());
            }
            query.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        i = end;
    }
    sqlx::query("UPDATE log_state SET value = $1 WHERE name = 'head'")
        .bind(n as i64)
        .execute(&mut *conn)
        .await
        .unwrap();
    expected
}

/// Whether this run measures (`cargo bench`, which passes `--bench`) rather
/// than checks once (`cargo test --all-targets`).
pub fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// How many to measure: what `var` says, else `full` when [`measuring`]
/// and `smoke` in a test run.
pub fn count(var: &str, full: usize, smoke: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring() { full } else { smoke })
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

/// Sets `conn` as the sink's projector and rebuild write (its
/// `derived_writer`): SQLite `synchronous=NORMAL`, PostgreSQL
/// `synchronous_commit=off` — both re-derive what a crash would lose.
pub async fn as_derived_writer(conn: &mut AnyConnection, sqlite: bool) {
    conn.execute(if sqlite {
        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;"
    } else {
        "SET synchronous_commit = off"
    })
    .await
    .unwrap();
}

/// Everything written so far on disk, statistics current: each timed phase
/// starts from a quiet database (SQLite: a WAL checkpoint; PostgreSQL:
/// `VACUUM ANALYZE`, then `CHECKPOINT`).
pub async fn settle(conn: &mut AnyConnection, sqlite: bool) {
    if sqlite {
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
    } else {
        conn.execute("VACUUM ANALYZE").await.unwrap();
        conn.execute("CHECKPOINT").await.unwrap();
    }
}

/// `measure(backend, sink_url, sqlx_url)` on a fresh SQLite file, then on
/// a fresh database of the durable PostgreSQL `KAIZALA_TEST_POSTGRES_URL`
/// names, if it names one; what each measured.
pub fn on_each_backend<M, F, Fut>(bench: &str, full: bool, measure: F) -> Vec<M>
where
    F: Fn(&'static str, String, String) -> Fut,
    Fut: std::future::Future<Output = M>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{bench}.db"));
    let sink_url = path.to_str().unwrap().to_owned();
    let mut runs = vec![runtime.block_on(measure("SQLite", sink_url, baseline::sqlite_url(&path)))];
    if let Some(admin) = runtime.block_on(postgres::server(full, bench)) {
        let (url, name) = runtime.block_on(postgres::create(&admin, &format!("kzcli_{bench}")));
        runs.push(runtime.block_on(measure("PostgreSQL", url.clone(), url)));
        runtime.block_on(postgres::drop(&admin, &name));
    }
    runs
}

/// Asserts that every table holds the rows `expected` says projecting the
/// log should give.
pub async fn assert_projected(sink: &Sink, backend: &str, expected: &Expected) {
    for (table, rows) in expected {
        let found = scalar(sink.pool(), &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(found as u64, *rows, "{backend}: rows of {table}");
    }
}

/// Every projected table read back for the bare insert, all the rows
/// `expected` names and no more.
pub async fn read_back(
    conn: &mut AnyConnection,
    sqlite: bool,
    backend: &str,
    expected: &Expected,
) -> Vec<bare_insert::Table> {
    let mut tables = Vec::new();
    for name in bare_insert::projected_tables(conn).await {
        tables.push(bare_insert::read(conn, sqlite, &name).await);
    }
    let total: usize = tables.iter().map(bare_insert::Table::rows).sum();
    assert_eq!(
        total as u64,
        expected.values().sum::<u64>(),
        "{backend}: rows read back"
    );
    tables
}

/// Asserts that the bare insert copied every row of `tables`, value for
/// value, then drops the copies.
pub async fn assert_and_drop_bare_copies(
    sink: &Sink,
    conn: &mut AnyConnection,
    backend: &str,
    tables: &[bare_insert::Table],
) {
    for table in tables {
        let name = bare_insert::bare_name(&table.name);
        let found = scalar(sink.pool(), &format!("SELECT COUNT(*) FROM {name}")).await;
        assert_eq!(found as usize, table.rows(), "{backend}: {name}");
        let columns = bare_insert::column_list(&table.columns);
        let differing = scalar(
            sink.pool(),
            &format!(
                "SELECT COUNT(*) FROM (SELECT {columns} FROM {} EXCEPT SELECT {columns} FROM {name}) AS d",
                table.name
            ),
        )
        .await;
        assert_eq!(
            differing, 0,
            "{backend}: rows of {} not in {name}",
            table.name
        );
        conn.execute(format!("DROP TABLE {name}").as_str())
            .await
            .unwrap();
    }
}

//! `kaizala export --format parquet` of `kz_answers` against a bare SELECT
//! of the same rows, in the same run.
//!
//! 1. The data: the mixed workload (`tests/ingest_support/events.rs`: 70%
//!    survey responses with three to nine answers) appended to the log
//!    (`support::fill_log`), enough events for the wanted number of answers,
//!    and projected (`Sink::project`). (Not timed.)
//! 2. `bare select`: one sqlx query streaming `SELECT … FROM kz_answers
//!    ORDER BY response_id, question_index` (the export's own query: every
//!    column; on PostgreSQL its `timestamptz`, `jsonb` and `date` columns as
//!    text, as the export selects them, since sqlx's `Any` driver reads none
//!    of them) on a fresh connection, every value of every row decoded by
//!    its type (text borrowed, numbers copied): the least any export must do.
//! 3. `parquet export`: the real binary, `kaizala export --db … --table
//!    kz_answers --format parquet --out FILE`, from start to exit (process
//!    start, connect, query, typed rows, Arrow batches, snappy, the footer,
//!    fsync and rename). Its row count (on its standard error) must be the
//!    view's.
//!
//! Each is run twice, alternating; the faster of each counts. Target: the
//! export's rows per second ≥ 0.5× the bare SELECT's. SQLite (a temporary
//! file) always; PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` names a durable
//! server.
//!
//! `cargo bench -p kaizala-cli --bench parquet_export` (also run by `cargo
//! xtask bench`); `KAIZALA_BENCH_PARQUET_ANSWERS` sets the number of answers
//! (default 1,000,000). Without `--bench` (`cargo test --all-targets`) it
//! exports about 3,000 answers once and checks the counts.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kaizala_sink::Sink;
use sqlx::{AnyConnection, Connection, Row, ValueRef};
use support::{baseline, count, fill_log, measuring, postgres, scalar, thousands};

/// The export's query of `kz_answers` (`Table::KzAnswers`' order): on
/// PostgreSQL, the columns sqlx's `Any` driver cannot read as text, as the
/// export selects them.
async fn select_sql(conn: &mut AnyConnection, sqlite: bool) -> String {
    let order = "ORDER BY response_id, question_index";
    if sqlite {
        return format!("SELECT * FROM kz_answers {order}");
    }
    let columns: Vec<String> = sqlx::query(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
         FROM information_schema.columns \
         WHERE table_name = 'kz_answers' AND table_schema = current_schema() \
         ORDER BY ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let (name, ty): (String, String) = (row.get(0), row.get(1));
        match ty.as_str() {
            "timestamp with time zone" => {
                format!("to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS {name}")
            }
            "jsonb" | "date" => format!("CAST({name} AS TEXT) AS {name}"),
            _ => name,
        }
    })
    .collect();
    format!("SELECT {} FROM kz_answers {order}", columns.join(", "))
}

/// Streams every row of `sql`, reading every value; how many rows.
async fn bare_select(url: &str, sql: &str) -> (u64, Duration) {
    use sqlx::any::AnyTypeInfoKind as K;
    let started = Instant::now();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let mut rows = sqlx::query(sql).fetch(&mut conn);
    let (mut count, mut bytes, mut sum) = (0u64, 0usize, 0f64);
    while let Some(row) = rows.try_next().await.unwrap() {
        for i in 0..row.len() {
            let raw = row.try_get_raw(i).unwrap();
            if raw.is_null() {
                continue;
            }
            match raw.type_info().kind() {
                K::SmallInt | K::Integer | K::BigInt => sum += row.get::<i64, _>(i) as f64,
                K::Real | K::Double => sum += row.get::<f64, _>(i),
                K::Bool => sum += f64::from(u8::from(row.get::<bool, _>(i))),
                K::Text => bytes += row.get::<&str, _>(i).len(),
                K::Blob => bytes += row.get::<&[u8], _>(i).len(),
                K::Null => {}
            }
        }
        count += 1;
    }
    drop(rows);
    let elapsed = started.elapsed();
    let _ = conn.close().await;
    assert!(bytes > 0 && sum.is_finite());
    (count, elapsed)
}

/// Runs `kaizala export … --format parquet --out FILE`; the rows it
/// reported and the time from start to exit.
fn parquet_export(db: &str, out: &std::path::Path) -> (u64, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_kaizala"))
        .args([
            "export",
            "--db",
            db,
            "--table",
            "kz_answers",
            "--format",
            "parquet",
        ])
        .arg("--out")
        .arg(out)
        .env_remove("KAIZALA_DB")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // "N rows of kz_answers"
    let rows = stderr
        .lines()
        .find_map(|line| line.strip_suffix(" rows of kz_answers"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no row count in {stderr:?}"));
    (rows, elapsed)
}

struct Measured {
    backend: &'static str,
    rows: u64,
    events: usize,
    made: Duration,
    select: Duration,
    export: Duration,
    size: u64,
}

async fn measure(
    backend: &'static str,
    db: &str,
    sqlx_url: &str,
    events: usize,
    out: &std::path::Path,
    rounds: usize,
) -> Measured {
    let sqlite = backend == "SQLite";
    let started = Instant::now();
    let sink = Sink::connect(db).await.unwrap();
    let mut conn = AnyConnection::connect(sqlx_url).await.unwrap();
    let expected = fill_log(&sink, sqlite, "parquet", events).await;
    let report = sink.project().await.unwrap();
    assert_eq!(report.errors, 0);
    let rows = scalar(sink.pool(), "SELECT COUNT(*) FROM kz_answers").await as u64;
    assert_eq!(rows, expected["answers"], "{backend}: answers projected");
    sqlx::query(if sqlite {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    } else {
        "VACUUM ANALYZE"
    })
    .execute(&mut conn)
    .await
    .unwrap();
    let sql = select_sql(&mut conn, sqlite).await;
    let _ = conn.close().await;
    sink.close().await;
    let made = started.elapsed();

    let (mut select, mut export) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let (n, took) = bare_select(sqlx_url, &sql).await;
        assert_eq!(n, rows, "{backend}: rows selected");
        select = select.min(took);
        let (n, took) = parquet_export(db, out);
        assert_eq!(n, rows, "{backend}: rows exported");
        export = export.min(took);
    }
    Measured {
        backend,
        rows,
        events,
        made,
        select,
        export,
        size: std::fs::metadata(out).unwrap().len(),
    }
}

fn main() {
    baseline::serve_if_child();
    let full = measuring();
    let answers = count("KAIZALA_BENCH_PARQUET_ANSWERS", 1_000_000, 3_000);
    // About 4.2 answers an event (70% responses, six answers on average).
    let events = answers * 10 / 42 + 1;
    let rounds = if full { 2 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.db");
    let out = dir.path().join("kz_answers.parquet");
    let mut runs = vec![runtime.block_on(measure(
        "SQLite",
        path.to_str().unwrap(),
        &baseline::sqlite_url(&path),
        events,
        &out,
        rounds,
    ))];
    if let Some(admin) = runtime.block_on(postgres::server(full, "parquet_export")) {
        let (url, name) = runtime.block_on(postgres::create(&admin, "kzcli_parquet"));
        runs.push(runtime.block_on(measure("PostgreSQL", &url, &url, events, &out, rounds)));
        runtime.block_on(postgres::drop(&admin, &name));
    }

    let rate = |rows: u64, d: Duration| rows as f64 / d.as_secs_f64();
    let mut text = format!(
        "`parquet_export` (`cargo bench -p kaizala-cli --bench parquet_export`){}\n\n",
        if full { "" } else { ", smoke run" }
    );
    text.push_str(
        "| backend | rows of kz_answers | bare SELECT | rows/s | parquet export | rows/s | export vs SELECT |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in &runs {
        text.push_str(&format!(
            "| {} | {} | {:.2} s | {} | {:.2} s | {} | **{:.2}×** |\n",
            m.backend,
            thousands(m.rows as f64),
            m.select.as_secs_f64(),
            thousands(rate(m.rows, m.select)),
            m.export.as_secs_f64(),
            thousands(rate(m.rows, m.export)),
            rate(m.rows, m.export) / rate(m.rows, m.select),
        ));
    }
    text.push('\n');
    for m in &runs {
        text.push_str(&format!(
            "{}: the file {:.1} MB ({:.0} bytes a row, snappy); the data made in {:.1} s \
             ({} events)\n",
            m.backend,
            m.size as f64 / 1e6,
            m.size as f64 / m.rows as f64,
            m.made.as_secs_f64(),
            thousands(m.events as f64)
        ));
    }
    text.push('\n');
    for m in &runs {
        let ratio = rate(m.rows, m.export) / rate(m.rows, m.select);
        let met = if ratio >= 0.5 { "met" } else { "NOT met" };
        text.push_str(&format!(
            "target {} parquet export ≥ 0.50× the bare SELECT's rows/s: {met} ({ratio:.2}×)\n",
            m.backend
        ));
    }
    print!("{text}");
}

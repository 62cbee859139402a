//! `kaizala export --format parquet` of `kz_answers` against a bare SELECT
//! of the same rows, in the same run.
//!
//! 1. The data: the mixed workload (`tests/ingest_support/events.rs`: 70%
//!    survey responses with three to nine answers) appended to the log
//!    (`support::fill_log`), enough events for the wanted number of answers,
//!    and projected (`Sink::project`). (Not timed.)
//! 2. `bare select`: one sqlx query streaming `SELECT * FROM kz_answers
//!    ORDER BY response_id, question_index` (the export's own query) on a
//!    fresh connection, every value of every row decoded by its type (text
//!    borrowed, numbers copied): the least any export must do.
//! 3. `parquet export`: the real binary, `kaizala export --db … --table
//!    kz_answers --format parquet --out FILE`, from start to exit (process
//!    start, connect, query, typed rows, Arrow batches, snappy, the footer,
//!    fsync and rename). Its row count (on its standard error) must be the
//!    view's.
//!
//! Each is run twice, alternating; the faster of each counts. Target: the
//! export's rows per second ≥ 0.5× the bare SELECT's. SQLite (a temporary
//! file).
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
use support::{baseline, fill_log, measuring, scalar, thousands};

/// The export's query (`Table::KzAnswers`' order).
const SELECT: &str = "SELECT * FROM kz_answers ORDER BY response_id, question_index";

/// Streams every row of [`SELECT`], reading every value; how many rows.
async fn bare_select(url: &str) -> (u64, Duration) {
    use sqlx::any::AnyTypeInfoKind as K;
    let started = Instant::now();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let mut rows = sqlx::query(SELECT).fetch(&mut conn);
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

fn main() {
    baseline::serve_if_child();
    let full = measuring();
    let answers: usize = std::env::var("KAIZALA_BENCH_PARQUET_ANSWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 3_000 });
    // About 4.2 answers an event (70% responses, six answers on average).
    let events = answers * 10 / 42 + 1;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.db");
    let db = path.to_str().unwrap().to_owned();
    let url = baseline::sqlite_url(&path);
    let out = dir.path().join("kz_answers.parquet");

    let (rows, made) = runtime.block_on(async {
        let started = Instant::now();
        let sink = Sink::connect(&db).await.unwrap();
        let mut conn = AnyConnection::connect(&url).await.unwrap();
        let expected = fill_log(&mut conn, true, "parquet", events).await;
        let _ = conn.close().await;
        let report = sink.project().await.unwrap();
        assert_eq!(report.errors, 0);
        let rows = scalar(sink.pool(), "SELECT COUNT(*) FROM kz_answers").await as u64;
        assert_eq!(rows, expected["answers"], "answers projected");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(sink.pool())
            .await
            .unwrap();
        sink.close().await;
        (rows, started.elapsed())
    });

    let rounds = if full { 2 } else { 1 };
    let (mut select, mut export) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let (n, took) = runtime.block_on(bare_select(&url));
        assert_eq!(n, rows, "rows selected");
        select = select.min(took);
        let (n, took) = parquet_export(&db, &out);
        assert_eq!(n, rows, "rows exported");
        export = export.min(took);
    }
    let size = std::fs::metadata(&out).unwrap().len();

    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    let ratio = rate(export) / rate(select);
    let mut text = format!(
        "`parquet_export` (`cargo bench -p kaizala-cli --bench parquet_export`){}\n\n",
        if full { "" } else { ", smoke run" }
    );
    text.push_str(
        "| backend | rows of kz_answers | bare SELECT | rows/s | parquet export | rows/s | export vs SELECT |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    text.push_str(&format!(
        "| SQLite | {} | {:.2} s | {} | {:.2} s | {} | **{ratio:.2}×** |\n\n",
        thousands(rows as f64),
        select.as_secs_f64(),
        thousands(rate(select)),
        export.as_secs_f64(),
        thousands(rate(export)),
    ));
    text.push_str(&format!(
        "the file: {:.1} MB ({:.0} bytes a row, snappy); the data made in {:.1} s \
         ({} events)\n\n",
        size as f64 / 1e6,
        size as f64 / rows as f64,
        made.as_secs_f64(),
        thousands(events as f64)
    ));
    let met = if ratio >= 0.5 { "met" } else { "NOT met" };
    text.push_str(&format!(
        "target SQLite parquet export ≥ 0.50× the bare SELECT's rows/s: {met} ({ratio:.2}×)\n"
    ));
    print!("{text}");
}

//! `kaizala export --format parquet`, read back by DuckDB: for a view of
//! the dashboard contract (`kz_responses`, `kz_answers`,
//! `kz_responses_daily`) and for a survey pivot, the file has the view's
//! row count and each column the Parquet type its declaration gives (times
//! `TIMESTAMP WITH TIME ZONE`, flags `BOOLEAN`, days `DATE`, integers
//! `BIGINT`, doubles `DOUBLE`, text `VARCHAR`), and the values read back
//! (a time to the millisecond, a Devanagari name); standard output gives
//! the same file as `--out`. On SQLite always, on
//! PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` is set.
//!
//! DuckDB is Python's, from PyPI: `KAIZALA_TEST_PYTHON` names a Python
//! that imports it (`cargo xtask test` makes one in `target/test-venv`);
//! without it the tests are skipped, unless
//! `KAIZALA_TEST_REQUIRE_SERVICES=1`.

#![cfg(feature = "parquet")]

mod ingest_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use ingest_support::events::{SURVEY, sample_event};
use ingest_support::{TestDb, kaizala, text};
use kaizala_webhook::store::{EventStore, IncomingEvent};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use ingest_support::PYTHON_VAR;
/// A responder name outside ASCII.
const NAME: &str = "आशा राव";

/// The Python with DuckDB, or `None` when the test should be skipped.
fn python() -> Option<PathBuf> {
    ingest_support::test_python("duckdb")
}

/// Runs each of `queries` in DuckDB; the rows of each, values as JSON
/// (anything JSON has no type for as its text).
fn duckdb(python: &Path, queries: &[String]) -> Vec<Vec<Vec<Value>>> {
    let script = "import duckdb, json, sys\n\
                  out = [duckdb.sql(q).fetchall() for q in json.loads(sys.argv[1])]\n\
                  print(json.dumps(out, default=str))\n";
    let out = Command::new(python)
        .args(["-c", script, &serde_json::to_string(queries).unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON_VAR}={}: {e}", python.display()));
    assert!(out.status.success(), "duckdb failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The column names and DuckDB types of `file`.
fn describe(python: &Path, file: &Path) -> BTreeMap<String, String> {
    let rows = duckdb(
        python,
        &[format!("DESCRIBE SELECT * FROM '{}'", file.display())],
    );
    rows[0]
        .iter()
        .map(|row| {
            (
                row[0].as_str().unwrap().to_owned(),
                row[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Stores survey responses (one by [`NAME`]), messages and members, and
/// projects them.
async fn fill(db: &TestDb) {
    let sink = db.connect().await;
    let store = sink.event_store();
    let mut bodies: Vec<Vec<u8>> = (0..60)
        .map(|i| sample_event("pq", i, None).body.to_vec())
        .collect();
    let mut named = sample_event("pq", 1000, None).json();
    named["data"]["responderName"] = json!(NAME);
    bodies.push(serde_json::to_vec(&named).unwrap());
    for body in bodies {
        store
            .store(&IncomingEvent::new(body, SystemTime::now()).unwrap())
            .await
            .unwrap();
    }
    sink.project().await.unwrap();
    sink.close().await;
}

/// `sql`'s rows, each value as text (`None` for `NULL`).
async fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                .collect()
        })
        .collect()
}

async fn count(url: &str, relation: &str) -> i64 {
    let rows = query(
        url,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {relation}"),
    )
    .await;
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

/// `kaizala export --format parquet …ARGS --out FILE`.
fn export(db: &TestDb, args: &[&str], file: &Path) {
    let mut all = vec!["export", "--db", &db.url, "--format", "parquet"];
    all.extend(args);
    let out_path = file.to_str().unwrap();
    all.extend(["--out", out_path]);
    let out = kaizala(&all);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The DuckDB row count of `file`.
fn parquet_rows(python: &Path, file: &Path) -> i64 {
    let rows = duckdb(
        python,
        &[format!("SELECT count(*) FROM '{}'", file.display())],
    );
    rows[0][0][0].as_i64().unwrap()
}

fn types(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

const TIME: &str = "TIMESTAMP WITH TIME ZONE";

async fn check(db: TestDb) {
    let Some(python) = python() else {
        return;
    };
    fill(&db).await;
    let dir = db.dir.path();

    // A view: its row count, every column's type, and values.
    let file = dir.join("responses.parquet");
    export(&db, &["--table", "kz_responses"], &file);
    let expected = count(&db.url, "kz_responses").await;
    assert!(expected > 40, "{expected}");
    assert_eq!(parquet_rows(&python, &file), expected, "{}", db.kind);
    assert_eq!(
        describe(&python, &file),
        types(&[
            ("response_id", "VARCHAR"),
            ("action_id", "VARCHAR"),
            ("action_title", "VARCHAR"),
            ("action_type", "VARCHAR"),
            ("group_id", "VARCHAR"),
            ("group_name", "VARCHAR"),
            ("responder_id", "VARCHAR"),
            ("responder_name", "VARCHAR"),
            ("responder_phone", "VARCHAR"),
            ("responded_at", TIME),
            ("is_anonymous", "BOOLEAN"),
            ("is_completed", "BOOLEAN"),
            ("is_update", "BOOLEAN"),
            ("updated_at", TIME),
            ("details", "VARCHAR"),
        ]),
        "{}",
        db.kind
    );
    // Every response's time to the millisecond, as stored (epoch ms), and
    // its responder's name.
    let stored: BTreeMap<String, (i64, String)> = query(
        &db.url,
        "SELECT response_id, CAST(responded_at AS TEXT), responder_name FROM responses",
    )
    .await
    .into_iter()
    .map(|row| {
        let [id, at, name] = <[Option<String>; 3]>::try_from(row).unwrap();
        (id.unwrap(), (at.unwrap().parse().unwrap(), name.unwrap()))
    })
    .collect();
    let read = duckdb(
        &python,
        &[format!(
            "SELECT response_id, epoch_ms(responded_at), responder_name, is_anonymous \
             FROM '{}'",
            file.display()
        )],
    );
    let read: BTreeMap<String, (i64, String)> = read[0]
        .iter()
        .map(|row| {
            assert_eq!(row[3], json!(false), "{row:?}");
            let id = row[0].as_str().unwrap().to_owned();
            (
                id,
                (
                    row[1].as_i64().unwrap(),
                    row[2].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    assert_eq!(read, stored, "{}", db.kind);
    assert!(read.values().any(|(_, name)| name == NAME));

    // To standard output, the same file.
    let out = kaizala(&[
        "export",
        "--db",
        &db.url,
        "--table",
        "kz_responses",
        "--format",
        "parquet",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let piped = dir.join("piped.parquet");
    std::fs::write(&piped, &out.stdout).unwrap();
    assert_eq!(parquet_rows(&python, &piped), expected, "{}", db.kind);

    // Doubles, integers and JSON; days.
    let file = dir.join("answers.parquet");
    export(&db, &["--table", "kz_answers"], &file);
    assert_eq!(
        parquet_rows(&python, &file),
        count(&db.url, "kz_answers").await
    );
    let answers = describe(&python, &file);
    for (column, ty) in [
        ("question_index", "BIGINT"),
        ("number_value", "DOUBLE"),
        ("json_value", "VARCHAR"),
        ("is_invisible", "BOOLEAN"),
        ("responded_at", TIME),
    ] {
        assert_eq!(answers[column], ty, "{} {column}", db.kind);
    }
    let file = dir.join("daily.parquet");
    export(&db, &["--table", "kz_responses_daily"], &file);
    assert_eq!(
        parquet_rows(&python, &file),
        count(&db.url, "kz_responses_daily").await
    );
    let daily = describe(&python, &file);
    assert_eq!(daily["day"], "DATE", "{}", db.kind);
    assert_eq!(daily["responses"], "BIGINT", "{}", db.kind);

    // The pivot: one row per response to the survey, one column per
    // question typed by its type.
    let file = dir.join("pivot.parquet");
    export(&db, &["--pivot", SURVEY], &file);
    let responses = query(
        &db.url,
        &format!("SELECT response_id FROM responses WHERE action_id = '{SURVEY}'"),
    )
    .await;
    assert_eq!(
        parquet_rows(&python, &file),
        i64::try_from(responses.len()).unwrap()
    );
    assert_eq!(
        describe(&python, &file),
        types(&[
            ("response_id", "VARCHAR"),
            ("responded_at", TIME),
            ("responder_id", "VARCHAR"),
            ("responder_name", "VARCHAR"),
            ("group_id", "VARCHAR"),
            ("group_name", "VARCHAR"),
            ("retailer_outlet", "VARCHAR"),
            ("products", "VARCHAR"),
            ("rice_1kg", "DOUBLE"),
            ("visit_date", "VARCHAR"),
            ("location", "VARCHAR"),
            ("shelf_photo", "VARCHAR"),
            ("remarks", "VARCHAR"),
            ("owner", "VARCHAR"),
        ]),
        "{}",
        db.kind
    );
    let read = duckdb(
        &python,
        &[format!(
            "SELECT response_id, epoch_ms(responded_at), responder_name FROM '{}'",
            file.display()
        )],
    );
    for row in &read[0] {
        let (at, name) = &stored[row[0].as_str().unwrap()];
        assert_eq!(row[1].as_i64(), Some(*at), "{row:?}");
        assert_eq!(row[2].as_str(), Some(name.as_str()), "{row:?}");
    }
}

#[tokio::test]
async fn parquet_on_sqlite_reads_back_in_duckdb() {
    check(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_on_postgres_reads_back_in_duckdb() {
    let Some(admin) = ingest_support::postgres_url() else {
        return;
    };
    check(TestDb::postgres(&admin).await).await;
}

//! `kaizala singer` into Singer targets from PyPI, against the emulator:
//! `target-jsonl` (its files hold the platform's data, streams the catalog
//! deselects stay out) and MeltanoLabs' `target-postgres` (its tables'
//! counts equal the platform's data); a second run from the state the
//! target handed back loads only what is new or changed.
//!
//! The targets come from `KAIZALA_TEST_PYTHON_SINGER` and
//! `KAIZALA_TEST_PYTHON_SINGER_PG` (`cargo xtask test` makes both venvs);
//! without them the tests are skipped, unless
//! `KAIZALA_TEST_REQUIRE_SERVICES=1`.

mod connectors_support;
mod ingest_support;

use std::collections::BTreeMap;
use std::path::Path;

use connectors_support::*;
use ingest_support::{TestDb, postgres_url};
use serde_json::{Value, json};
use sqlx::Connection;

const JSONL_MAIN: &str = "from target_jsonl import main; main()";
const POSTGRES_MAIN: &str =
    "from target_postgres.target import TargetPostgres; TargetPostgres.cli()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_jsonl_loads_the_tap_then_only_what_is_new() {
    let Some(python) = python(SINGER_PYTHON_VAR, "target-jsonl") else {
        return;
    };
    let (platform, action) = Platform::surveyed(8, 2, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = platform.config(dir.path(), None);
    let catalog = singer_catalog(&config, dir.path(), &["members", "subscribers"]).await;

    let first = singer(&["--config", &config, "--catalog", &catalog]).await;
    assert!(first.status.success(), "{}", first.stderr);
    no_secret(&platform, &first.stdout);
    no_secret(&platform, &first.stderr);
    let (files, state) = into_jsonl(&python, &dir.path().join("first"), &first.stdout);
    // Deselected streams are not read at all.
    assert!(!files.contains_key("members") && !files.contains_key("subscribers"));
    assert!(first.records("members").is_empty());
    let responses = platform.response_versions();
    assert_eq!(
        ids(&files["responses"], "response_id"),
        responses.keys().cloned().collect()
    );
    assert_eq!(files["answers"].len(), responses.len() * QUESTIONS);
    assert_eq!(files["actions"].len(), 1);
    assert_eq!(files["groups"].len(), platform.group_count().await);
    assert_eq!(files["reactions"].len(), 1);
    assert_eq!(files["reactions"][0]["likes"], json!(2));

    let changed = platform.more_responses(&action, 4).await;
    let state_file = dir.path().join("state.json");
    std::fs::write(&state_file, state.to_string()).unwrap();
    let second = singer(&[
        "--config",
        &config,
        "--catalog",
        &catalog,
        "--state",
        state_file.to_str().unwrap(),
    ])
    .await;
    assert!(second.status.success(), "{}", second.stderr);
    let (files, _) = into_jsonl(&python, &dir.path().join("second"), &second.stdout);
    assert_eq!(ids(&files["responses"], "response_id"), changed);
    assert_eq!(files["answers"].len(), changed.len() * QUESTIONS);
    assert!(!files.contains_key("reactions"), "the counts did not move");
    assert_eq!(files["groups"].len(), platform.group_count().await);
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_postgres_loads_the_tap_then_only_what_is_new() {
    let Some(python) = python(SINGER_PG_PYTHON_VAR, "MeltanoLabs' target-postgres") else {
        return;
    };
    let Some(admin) = postgres_url() else {
        return;
    };
    let db = TestDb::postgres(&admin).await;
    let (platform, action) = Platform::surveyed(10, 1, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = platform.config(dir.path(), None);
    let target = dir.path().join("target.json");
    let driver_url = format!(
        "postgresql+psycopg://{}",
        &db.url[db.url.find("://").unwrap() + 3..]
    );
    std::fs::write(
        &target,
        json!({"sqlalchemy_url": driver_url, "default_target_schema": "kaizala"}).to_string(),
    )
    .unwrap();

    // No catalog: every stream.
    let first = singer(&["--config", &config]).await;
    assert!(first.status.success(), "{}", first.stderr);
    let state = singer_target(&python, POSTGRES_MAIN, &target, &first.stdout);
    let counts = table_counts(&db.url).await;
    let responses = platform.response_versions().len();
    assert_eq!(counts["responses"], responses, "{counts:?}");
    assert_eq!(counts["answers"], responses * QUESTIONS, "{counts:?}");
    assert_eq!(counts["actions"], 1, "{counts:?}");
    assert_eq!(counts["reactions"], 1, "{counts:?}");
    assert_eq!(counts["groups"], platform.group_count().await, "{counts:?}");
    assert_eq!(
        counts["members"] + counts["subscribers"],
        platform.member_count().await,
        "{counts:?}"
    );

    let changed = platform.more_responses(&action, 5).await;
    let state_file = dir.path().join("state.json");
    std::fs::write(&state_file, state.to_string()).unwrap();
    let second = singer(&["--config", &config, "--state", state_file.to_str().unwrap()]).await;
    assert!(second.status.success(), "{}", second.stderr);
    assert_eq!(ids(&second.records("responses"), "response_id"), changed);
    assert!(second.records("reactions").is_empty());
    singer_target(&python, POSTGRES_MAIN, &target, &second.stdout);
    // Upserted on the key: the new ones added, the changed ones replaced.
    let counts = table_counts(&db.url).await;
    let responses = platform.response_versions().len();
    assert_eq!(counts["responses"], responses, "{counts:?}");
    assert_eq!(counts["answers"], responses * QUESTIONS, "{counts:?}");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let changed_in_db: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM kaizala.responses WHERE details LIKE '%second thoughts%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(changed_in_db, 2);
    conn.close().await.unwrap();
    platform.stop().await;
}

/// The tap's output through `target-jsonl` into `out`: each stream's
/// records, and the state the target printed.
fn into_jsonl(python: &Path, out: &Path, tap: &str) -> (BTreeMap<String, Vec<Value>>, Value) {
    std::fs::create_dir_all(out).unwrap();
    let config = out.join("target.json");
    std::fs::write(
        &config,
        json!({"destination_path": out.join("files"), "do_timestamp_file": false}).to_string(),
    )
    .unwrap();
    let state = singer_target(python, JSONL_MAIN, &config, tap);
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(out.join("files")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let records = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        files.insert(name, records);
    }
    (files, state)
}

/// Rows per stream table the target made in the `kaizala` schema (0 for a
/// table it did not make: a stream with no record).
async fn table_counts(url: &str) -> BTreeMap<String, usize> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut counts = BTreeMap::new();
    for stream in STREAMS {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(format!("kaizala.{stream}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let n: i64 = if exists {
            sqlx::query_scalar(&format!("SELECT count(*) FROM kaizala.{stream}"))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        } else {
            0
        };
        counts.insert(stream.to_owned(), n as usize);
    }
    conn.close().await.unwrap();
    counts
}

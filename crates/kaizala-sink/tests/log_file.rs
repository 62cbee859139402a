//! An SQLite sink keeps its logs in a file of their own, `<file>-log`:
//! acknowledgements never wait for the database file's write lock, a
//! database of the one-file layout is split without losing a row, and a
//! missing log file is one clear error.

mod support;

use kaizala_sink::{Sink, SinkError};
use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
use serde_json::json;
use sqlx::Connection;
use support::{TestDb, incoming, raw_sqlite, scalar};

fn message(id: &str) -> IncomingEvent {
    incoming(
        &json!({"eventId": id, "eventType": "TextMessageCreated", "objectId": "g1",
        "objectType": "Group", "data": {"text": format!("hello {id}")}}),
    )
}

#[tokio::test]
async fn an_acknowledgement_does_not_wait_for_the_database_files_write_lock() {
    let db = TestDb::sqlite().await;
    let sink = Sink::connect(&format!("{}?busy_timeout=200", db.url))
        .await
        .unwrap();
    let store = sink.event_store();
    // A projector (here: another connection) holds the database file's
    // write lock far longer than the busy timeout.
    let mut holder = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE; INSERT INTO sink_state (name, value) VALUES ('x', 0)")
        .execute(&mut holder)
        .await
        .unwrap();
    for i in 0..3 {
        let id = format!("while-locked-{i}");
        assert_eq!(store.store(&message(&id)).await.unwrap(), Stored::New);
    }
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 3);
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    sink.project().await.unwrap();
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 3);
}

#[tokio::test]
async fn a_split_cut_short_between_its_two_commits_is_finished_without_a_loss() {
    let db = TestDb::sqlite().await;
    let sink = Sink::connect(&db.url).await.unwrap();
    let store = sink.event_store();
    for i in 0..5 {
        store.store(&message(&format!("m{i}"))).await.unwrap();
    }
    sink.close().await;
    // As if a split had committed its copy into the log file and died
    // before dropping the tables from the database file.
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(&format!(
        "ATTACH DATABASE '{path}-log' AS log; \
         CREATE TABLE main.events AS SELECT * FROM log.events; \
         CREATE TABLE main.log_state AS SELECT * FROM log.log_state"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let sink = Sink::connect(&db.url).await.unwrap();
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 5);
    assert_eq!(
        scalar(
            &sink,
            "SELECT COUNT(*) FROM main.sqlite_master WHERE name IN ('events', 'log_state')"
        )
        .await,
        0,
        "the database file still holds logs"
    );
    let store = sink.event_store();
    assert_eq!(store.store(&message("m5")).await.unwrap(), Stored::New);
    assert_eq!(
        store.store(&message("m0")).await.unwrap(),
        Stored::Duplicate
    );
    assert_eq!(
        scalar(&sink, "SELECT MAX(position) FROM events").await,
        6,
        "positions go on from the counter"
    );
}

#[tokio::test]
async fn a_missing_log_file_is_one_clear_error() {
    let db = TestDb::sqlite().await;
    let sink = Sink::connect(&db.url).await.unwrap();
    sink.event_store().store(&message("m")).await.unwrap();
    sink.close().await;
    let path = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    for suffix in ["-log", "-log-wal", "-log-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    for read_only in [true, false] {
        let opened = if read_only {
            Sink::open_read_only(&db.url).await
        } else {
            Sink::connect(&db.url).await
        };
        let Err(err) = opened else {
            panic!("a database without its logs opens (read-only: {read_only})");
        };
        assert!(matches!(err, SinkError::SchemaMismatch { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("{path}-log")) && text.contains("missing"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_gets_no_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are notes, not a database\n".repeat(200)).unwrap();
    let err = match Sink::connect(path.to_str().unwrap()).await {
        Ok(_) => panic!("a text file opened as a sink"),
        Err(err) => err,
    };
    assert!(!err.to_string().contains('\n'), "{err}");
    assert!(
        !dir.path().join("notes.txt-log").exists(),
        "a log file was made beside it"
    );
}

/// The page size of the SQLite file at `path`.
async fn page_size(path: &std::path::Path) -> i64 {
    let pool = raw_sqlite(path).await;
    let size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    size
}

#[tokio::test]
async fn a_new_database_file_has_16_kib_pages_and_an_older_one_keeps_its_own() {
    let db = TestDb::sqlite().await;
    let sink = Sink::connect(&db.url).await.unwrap();
    sink.event_store().store(&message("m")).await.unwrap();
    sink.project().await.unwrap();
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 1);
    sink.close().await;
    let path = db.sqlite_path();
    assert_eq!(page_size(&path).await, 16_384, "the database file");
    let log = std::path::PathBuf::from(format!("{}-log", path.display()));
    assert_eq!(page_size(&log).await, 4_096, "the log file");

    // A database an earlier release made upgrades and projects on the
    // pages it has.
    let old = TestDb::sqlite_copy("demo-0.1.db").await;
    let before = page_size(&old.sqlite_path()).await;
    assert_ne!(before, 16_384, "the fixture");
    let sink = Sink::connect(&old.url).await.unwrap();
    sink.event_store().store(&message("after")).await.unwrap();
    sink.project().await.unwrap();
    assert_eq!(
        scalar(
            &sink,
            "SELECT COUNT(*) FROM messages WHERE event_id = 'after'"
        )
        .await,
        1
    );
    sink.close().await;
    assert_eq!(
        page_size(&old.sqlite_path()).await,
        before,
        "the upgraded file"
    );
}

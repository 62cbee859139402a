//! `kaizala project`, `kaizala rebuild` and `kaizala status`, the real
//! binary against an SQLite file: events appended to the log are projected
//! by `project --once`, `status` shows the lag before and none after (as
//! text and as JSON), `rebuild` re-derives tables and refuses a log, a
//! bad table name is one clear line, and neither command makes a database
//! that is not there.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

use kaizala_sink::{Sink, Table};
use kaizala_webhook::store::{EventStore, IncomingEvent};
use serde_json::{Value, json};

const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");

fn kaizala(args: &[&str]) -> Output {
    Command::new(KAIZALA)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Appends survey responses and messages to the log, without projecting.
async fn log_events(db: &Path) {
    let sink = Sink::connect(db.to_str().unwrap()).await.unwrap();
    let store = sink.event_store();
    for i in 0..30 {
        let event = if i % 3 == 0 {
            json!({"eventId": format!("m{i}"), "eventType": "TextMessageCreated",
                "objectId": "g1", "objectType": "Group", "data": {"text": format!("hi {i}")}})
        } else {
            json!({"eventId": format!("r{i}"), "eventType": "SurveyResponse", "objectId": "g1",
                "objectType": "Group", "data": {"actionId": "a1", "groupId": "g1",
                "responseId": format!("resp{i}"), "responseDetails": {"responseWithQuestions": [
                    {"title": "Stock", "type": "SingleOption", "answer": ["OK"]},
                    {"title": "Cartons", "type": "Numeric", "answer": i}]}}})
        };
        let body = serde_json::to_vec(&event).unwrap();
        store
            .store(&IncomingEvent::new(body, SystemTime::now()).unwrap())
            .await
            .unwrap();
    }
    sink.close().await;
}

fn status_json(db: &str) -> Value {
    let out = kaizala(&["status", "--db", db, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_rebuild_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let db = path.to_str().unwrap();
    log_events(&path).await;

    // Logged, not projected yet.
    let before = status_json(db);
    assert_eq!(before["events"]["entries"], 30, "{before}");
    assert_eq!(before["lag_entries"], 30, "{before}");
    let out = kaizala(&["status", "--db", db]);
    let shown = text(&out.stdout);
    assert!(shown.contains("lag 30 entries"), "{shown}");
    assert!(shown.contains("migration 4 of 4"), "{shown}");

    let out = kaizala(&["project", "--db", db, "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("caught up: projected 30 log entries in 1 batch (no projection errors)"),
        "{said}"
    );
    let after = status_json(db);
    assert_eq!(after["lag_entries"], 0, "{after}");
    assert_eq!(after["watermark"], after["last_position"], "{after}");
    let sink = Sink::connect(db).await.unwrap();
    let counts = sink.counts().await.unwrap();
    assert_eq!(counts.get(Table::Responses), 20);
    assert_eq!(counts.get(Table::Answers), 40);
    assert_eq!(counts.get(Table::Messages), 10);

    // A rebuild of part gives the same rows.
    let answers_before = sink.summary().await.unwrap();
    sink.close().await;
    let out = kaizala(&["rebuild", "--db", db, "--table", "answers"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("rebuilt answers, responses from 30 log entries in ")
            && said.contains(" s (no projection errors); built to position "),
        "{said}"
    );
    let sink = Sink::connect(db).await.unwrap();
    assert_eq!(sink.summary().await.unwrap(), answers_before);
    sink.close().await;

    // The logs are not rebuilt; unknown tables are named.
    let out = kaizala(&["rebuild", "--db", db, "--table", "events"]);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(
        said.contains("events is not rebuilt from the logs") && said.lines().count() == 1,
        "{said}"
    );
    let out = kaizala(&["rebuild", "--db", db, "--table", "users"]);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("no table or view named \"users\""), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}

/// A mistyped path is one line saying so, and no stray database: both
/// commands derive from logs a new file would not have.
#[test]
fn project_and_rebuild_make_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let db = path.to_str().unwrap();
    for args in [
        &["project", "--db", db, "--once"][..],
        &["rebuild", "--db", db][..],
    ] {
        let out = kaizala(args);
        assert!(!out.status.success(), "{args:?}");
        let said = text(&out.stderr);
        assert!(
            said.contains("typo.db: no such database file") && said.lines().count() == 1,
            "{args:?}: {said}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

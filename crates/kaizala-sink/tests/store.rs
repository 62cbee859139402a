//! The event store: exactly-once storage under concurrency, group commit,
//! all-or-nothing batches, response updates, quarantine, and the handler
//! queue — on SQLite, and on PostgreSQL when one is configured.

mod support;

use std::time::{Duration, SystemTime};

use kaizala_sink::Sink;
use kaizala_webhook::store::{EventQueue, EventStore, IncomingEvent, QuarantinedBody, Stored};
use serde_json::{Value, json};
use support::{TestDb, databases, incoming, incoming_at, projected, rows, scalar};

fn message(id: &str) -> IncomingEvent {
    incoming(
        &json!({"eventId": id, "eventType": "TextMessageCreated", "objectId": "g1",
        "objectType": "Group", "data": {"text": format!("hello {id}")}}),
    )
}

/// A survey response: `answers` are (title, type, answer).
fn response(
    event_id: &str,
    response_id: &str,
    update: bool,
    answers: &[(&str, &str, Value)],
) -> Value {
    let questions: Vec<Value> = answers
        .iter()
        .map(|(title, kind, answer)| json!({"title": title, "type": kind, "answer": answer}))
        .collect();
    json!({"eventId": event_id, "eventType": "SurveyResponse", "objectId": "g1",
        "objectType": "Group", "data": {"actionId": "survey-1", "groupId": "g1",
            "responseId": response_id, "isUpdateResponse": update, "responderId": "u1",
            "responseDetails": {"responseWithQuestions": questions}}})
}

#[tokio::test]
async fn fifty_concurrent_copies_are_stored_once() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let event = message("dup-1");
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, event) = (store.clone(), event.clone());
                tokio::spawn(async move { store.store(&event).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let new = outcomes.iter().filter(|s| **s == Stored::New).count();
        assert_eq!(new, 1, "{}: {outcomes:?}", db.kind);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 1);
        sink.project().await.unwrap();
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 1);
        // Later copies too.
        assert_eq!(store.store(&event).await.unwrap(), Stored::Duplicate);
    }
}

/// The receiver reads only an event's head before the store, and the
/// store only appends: a payload that does not fit its type's model is
/// logged like any event, and the projector records it as a projection
/// error with the JSON path at fault, without holding up the others.
#[tokio::test]
async fn an_event_whose_payload_does_not_fit_is_logged_and_reported() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let misfit = incoming(
            &json!({"eventId": "misfit", "eventType": "TextMessageCreated", "data": {"text": 5}}),
        );
        let stored = store
            .store_batch(&[message("ok-1"), misfit.clone(), message("ok-2")])
            .await
            .unwrap();
        assert_eq!(stored, [Stored::New; 3], "{}", db.kind);
        assert_eq!(store.store(&misfit).await.unwrap(), Stored::Duplicate);
        let projected = sink.project().await.unwrap();
        assert_eq!((projected.entries, projected.errors), (3, 1), "{}", db.kind);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 3);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 2);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM quarantine").await, 0);
        let errors = rows(&sink, "SELECT * FROM projection_errors").await;
        assert_eq!(errors.len(), 1, "{}: {errors:?}", db.kind);
        assert_eq!(errors[0]["log"], "events");
        assert_eq!(errors[0]["entry_id"], "misfit");
        assert_eq!(errors[0]["path"], "data.text");
        let status = sink.status().await.unwrap();
        assert_eq!(status.projection_errors, 1);
        assert_eq!(status.lag_entries, 0);
        assert!(status.to_string().contains("data.text"), "{status}");
    }
}

#[tokio::test]
async fn duplicates_within_one_batch() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let (a, b) = (message("a"), message("b"));
        let stored = store
            .store_batch(&[a.clone(), a.clone(), b.clone(), a])
            .await
            .unwrap();
        assert_eq!(
            stored,
            [
                Stored::New,
                Stored::Duplicate,
                Stored::New,
                Stored::Duplicate
            ],
            "{}",
            db.kind
        );
        let stored = store.store_batch(&[b, message("c")]).await.unwrap();
        assert_eq!(stored, [Stored::Duplicate, Stored::New]);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stores_share_transactions() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.store(&message(&format!("m{i:03}"))).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), Stored::New);
        }
        let stats = store.stats();
        eprintln!("{}: {stats:?}", db.kind);
        assert_eq!(stats.new, 500);
        assert_eq!(stats.events, 500);
        assert!(
            stats.batches < 250,
            "{}: 500 concurrent stores took {} transactions",
            db.kind,
            stats.batches
        );
        assert!(stats.largest_batch > 1);
        sink.project().await.unwrap();
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 500);
    }
}

/// Makes inserting an event with id `poison` fail inside the transaction.
async fn poison(sink: &Sink, kind: &str) {
    let statements: &[&str] = if kind == "sqlite" {
        &[
            "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event_id = 'poison' \
           BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
        ]
    } else {
        &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.event_id = 'poison' THEN RAISE EXCEPTION 'poisoned event'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    };
    for sql in statements {
        sqlx::raw_sql(sql).execute(sink.log_pool()).await.unwrap();
    }
}

#[tokio::test]
async fn a_failing_batch_fails_every_event_in_it() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        poison(&sink, db.kind).await;
        let err = store
            .store_batch(&[message("ok-1"), message("poison"), message("ok-2")])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("poisoned"), "{}: {err}", db.kind);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 0);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM messages").await, 0);
        assert_eq!(store.stats().failed_batches, 1);

        // Concurrent callers batched with the poison are tried again apart:
        // only the poison fails; whoever got an Ok is stored.
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let store = store.clone();
                let id = if i == 20 {
                    "poison".to_owned()
                } else {
                    format!("c{i}")
                };
                tokio::spawn(async move { (id.clone(), store.store(&message(&id)).await) })
            })
            .collect();
        let mut ok = Vec::new();
        for task in tasks {
            let (id, result) = task.await.unwrap();
            match result {
                Ok(stored) => {
                    assert_eq!(stored, Stored::New);
                    ok.push(id);
                }
                Err(err) => assert!(err.to_string().contains("poisoned"), "{err}"),
            }
        }
        assert!(!ok.contains(&"poison".to_owned()));
        assert_eq!(ok.len(), 39, "{}: only the poison failed", db.kind);
        let stored: Vec<String> = rows(&sink, "SELECT event_id FROM events ORDER BY event_id")
            .await
            .iter()
            .map(|r| r["event_id"].as_str().unwrap().to_owned())
            .collect();
        ok.sort();
        assert_eq!(stored, ok, "{}", db.kind);

        // The store keeps working after failures.
        assert_eq!(store.store(&message("after")).await.unwrap(), Stored::New);
    }
}

#[tokio::test]
async fn text_with_nul_characters_is_stored() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let event = incoming(&json!({"eventId": "nul", "eventType": "TextMessageCreated",
            "data": {"text": "a\u{0}b"}}));
        assert_eq!(
            store.store(&event).await.unwrap(),
            Stored::New,
            "{}",
            db.kind
        );
        let text = projected(&sink, "SELECT text FROM messages").await;
        assert_eq!(text[0]["text"], "a\u{fffd}b");
        let payload = rows(&sink, "SELECT payload FROM events").await;
        assert!(
            payload[0]["payload"]
                .as_str()
                .unwrap()
                .contains("a\\u0000b")
        );
    }
}

#[tokio::test]
async fn a_closed_database_answers_errors() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        store.store(&message("before")).await.unwrap();
        sink.close().await;
        let err = store.store(&message("after")).await.unwrap_err();
        assert!(!err.to_string().is_empty(), "{}", db.kind);
    }
}

#[tokio::test]
async fn two_processes_on_one_database_store_each_event_once() {
    for db in databases().await {
        // Two sinks: two pools and two writer tasks, like two replicas.
        let (one, two) = (db.connect().await, db.connect().await);
        let (a, b) = (one.event_store(), two.event_store());
        let events: Vec<IncomingEvent> = (0..200).map(|i| message(&format!("r{i:03}"))).collect();
        let mut tasks = Vec::new();
        for event in &events {
            for store in [&a, &b] {
                let (store, event) = (store.clone(), event.clone());
                tasks.push(tokio::spawn(async move {
                    (
                        event.event_id().to_owned(),
                        store.store(&event).await.unwrap(),
                    )
                }));
            }
        }
        let mut new = std::collections::BTreeMap::<String, u32>::new();
        for task in tasks {
            let (id, stored) = task.await.unwrap();
            *new.entry(id).or_default() += u32::from(stored == Stored::New);
        }
        assert_eq!(new.len(), 200);
        assert!(new.values().all(|n| *n == 1), "{}: {new:?}", db.kind);
        assert_eq!(scalar(&one, "SELECT COUNT(*) FROM events").await, 200);
        let (p1, p2) = tokio::join!(one.project(), two.project());
        let (p1, p2) = (p1.unwrap(), p2.unwrap());
        assert_eq!(p1.entries + p2.entries, 200, "{}: {p1:?} {p2:?}", db.kind);
        assert_eq!(scalar(&two, "SELECT COUNT(*) FROM messages").await, 200);
    }
}

/// Someone reopens their response and submits it unchanged: the answers
/// stay, but the response is now an update (found by the crash test, where
/// the emulator's random update picked the same options).
#[tokio::test]
async fn an_update_with_the_same_answers_is_still_an_update() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let answers = [("Stock", "SingleOption", json!(["Low"]))];
        let original = response("e1", "r1", false, &answers);
        store.store(&incoming(&original)).await.unwrap();
        let update = response("e2", "r1", true, &answers);
        assert_eq!(store.store(&incoming(&update)).await.unwrap(), Stored::New);
        let responses = projected(&sink, "SELECT is_update FROM responses").await;
        assert_eq!(responses.len(), 1, "{}", db.kind);
        assert_eq!(responses[0]["is_update"], 1, "{}", db.kind);
        // The original arriving late (a retry) does not undo it.
        let late = response("e3", "r1", false, &answers);
        store.store(&incoming(&late)).await.unwrap();
        let responses = projected(&sink, "SELECT is_update FROM responses").await;
        assert_eq!(responses[0]["is_update"], 1, "{}", db.kind);
    }
}

#[tokio::test]
async fn updated_responses_replace_their_answers() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let t0 = SystemTime::now();
        let original = response(
            "e1",
            "r1",
            false,
            &[
                ("Outlet", "Text", json!("ABC Traders")),
                ("Stock", "SingleOption", json!(["Low"])),
                ("Cartons", "Numeric", json!(3)),
            ],
        );
        store.store(&incoming_at(&original, t0)).await.unwrap();
        let first = projected(&sink, "SELECT * FROM responses").await;
        assert_eq!(first[0]["is_update"], 0);
        assert_eq!(first[0]["updated_at"], Value::Null);

        let t1 = t0 + Duration::from_secs(60);
        let update = response(
            "e2",
            "r1",
            true,
            &[
                ("Outlet", "Text", json!("ABC Traders")),
                ("Stock", "SingleOption", json!(["High"])),
            ],
        );
        assert_eq!(
            store.store(&incoming_at(&update, t1)).await.unwrap(),
            Stored::New
        );
        let responses = projected(&sink, "SELECT * FROM responses").await;
        assert_eq!(responses.len(), 1, "{}", db.kind);
        assert_eq!(responses[0]["is_update"], 1);
        assert_eq!(
            responses[0]["responded_at"], first[0]["responded_at"],
            "first submission kept"
        );
        assert_eq!(
            responses[0]["updated_at"],
            Value::from(kaizala_sink_millis(t1))
        );
        let answers = projected(
            &sink,
            "SELECT question_index, text_value FROM answers ORDER BY question_index",
        )
        .await;
        assert_eq!(
            answers.len(),
            2,
            "{}: the old third answer is gone",
            db.kind
        );
        assert_eq!(answers[1]["text_value"], "High");

        // The original delivered late (a retry) does not undo the update.
        let late = response(
            "e1-retry",
            "r1",
            false,
            &[("Stock", "SingleOption", json!(["Low"]))],
        );
        store.store(&incoming(&late)).await.unwrap();
        let answers = projected(
            &sink,
            "SELECT text_value FROM answers ORDER BY question_index",
        )
        .await;
        assert_eq!(answers.len(), 2, "{}", db.kind);
        assert_eq!(answers[1]["text_value"], "High");

        // An update within one batch as its original: the update wins,
        // whichever order the ids sort in.
        let batch = [
            incoming(&response(
                "z-orig",
                "r2",
                false,
                &[("Stock", "SingleOption", json!(["Low"]))],
            )),
            incoming(&response(
                "a-upd",
                "r2",
                true,
                &[("Stock", "SingleOption", json!(["OK"]))],
            )),
        ];
        store.store_batch(&batch).await.unwrap();
        let answer = projected(
            &sink,
            "SELECT text_value FROM answers WHERE response_id = 'r2'",
        )
        .await;
        assert_eq!(answer[0]["text_value"], "OK", "{}", db.kind);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM responses").await, 2);
    }
}

fn kaizala_sink_millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn quarantined_bodies_are_kept_byte_for_byte() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let body = QuarantinedBody {
            body: bytes::Bytes::from_static(b"\xff\x00not json, \"quoted\""),
            reason_code: "not_json",
            reason: "expected value at line 1 column 1".into(),
            received_at: SystemTime::now(),
        };
        store.quarantine(&body).await.unwrap();
        let row = sqlx::query("SELECT body, reason_code, reason FROM quarantine")
            .fetch_one(sink.pool())
            .await
            .unwrap();
        use sqlx::Row;
        assert_eq!(row.try_get::<Vec<u8>, _>(0).unwrap(), body.body.to_vec());
        assert_eq!(row.try_get::<String, _>(1).unwrap(), "not_json");
        assert_eq!(
            row.try_get::<String, _>(2).unwrap(),
            "expected value at line 1 column 1"
        );
    }
}

/// On PostgreSQL the logs' bodies too long to keep inline are compressed
/// with lz4 where the server has it (cheaper for the appends and for the
/// projector reading them back), and read back as they came.
#[tokio::test]
async fn long_bodies_are_compressed_with_lz4_where_postgresql_has_it() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let sink = db.connect().await;
    let long = "an answer long enough to be compressed ".repeat(200);
    let json = response(
        "lz4-1",
        "r-lz4",
        false,
        &[("Why?", "Text", Value::from(long))],
    );
    let event = incoming(&json);
    assert_eq!(sink.event_store().store(&event).await.unwrap(), Stored::New);
    let has_lz4 = scalar(
        &sink,
        "SELECT COUNT(*) FROM pg_settings WHERE name = 'default_toast_compression' \
         AND 'lz4' = ANY(enumvals)",
    )
    .await
        == 1;
    let found = rows(
        &sink,
        "SELECT pg_column_compression(payload) AS method, payload FROM events",
    )
    .await;
    let expected = if has_lz4 { "lz4" } else { "pglz" };
    assert_eq!(
        found[0]["method"],
        Value::from(expected),
        "has lz4: {has_lz4}"
    );
    let stored: Value = serde_json::from_str(found[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(stored, json);
    let answers = projected(&sink, "SELECT COUNT(*) AS n FROM answers").await;
    assert_eq!(answers[0]["n"], Value::from(1));
}

#[tokio::test]
async fn the_handler_queue() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store().with_claim_lease(Duration::from_secs(60));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for (i, id) in ["q1", "q2", "q3"].iter().enumerate() {
            let event = json!({"eventId": id, "eventType": "TextMessageCreated",
                "data": {"text": "x"}});
            store
                .store(&incoming_at(&event, t0 + Duration::from_secs(i as u64)))
                .await
                .unwrap();
        }
        // Nothing enters the queue until a handler asks.
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM handler_queue").await, 0);
        assert_eq!(store.next_retry().await.unwrap(), Some(t0));
        assert!(
            store
                .due(t0 - Duration::from_secs(1), 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Oldest first, up to the limit; claimed ones are not handed out again.
        let now = t0 + Duration::from_secs(10);
        let due = store.due(now, 2).await.unwrap();
        let ids: Vec<&str> = due.iter().map(|p| p.event_id.as_str()).collect();
        assert_eq!(ids, ["q1", "q2"], "{}", db.kind);
        assert_eq!(due[0].attempts, 0);
        let body: Value = serde_json::from_slice(&due[0].body).unwrap();
        assert_eq!(body["eventId"], "q1");
        let due = store.due(now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].event_id, "q3");
        assert!(store.due(now, 10).await.unwrap().is_empty());

        // q1 handled; q2 fails once, to be retried at +100 s; q3 dies.
        store.handled("q1").await.unwrap();
        let retry_at = t0 + Duration::from_secs(100);
        store
            .retry_later("q2", 1, retry_at, "timeout")
            .await
            .unwrap();
        store
            .dead_letter("q3", "TextMessageCreated", 5, "boom", now)
            .await
            .unwrap();
        assert!(store.due(now, 10).await.unwrap().is_empty());
        assert_eq!(store.next_retry().await.unwrap(), Some(retry_at));
        let row = rows(&sink, "SELECT * FROM handler_queue WHERE event_id = 'q2'").await;
        assert_eq!(row[0]["attempts"], 1, "{}", db.kind);
        assert_eq!(row[0]["last_error"], "timeout");
        assert_eq!(row[0]["due_at"], Value::from(kaizala_sink_millis(retry_at)));
        let due = store.due(retry_at, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].event_id.as_str(), due[0].attempts), ("q2", 1));
        store.handled("q2").await.unwrap();

        let dead = store.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].event_id, "q3");
        assert_eq!(dead[0].event_type, "TextMessageCreated");
        assert_eq!(dead[0].attempts, 5);
        assert_eq!(dead[0].error, "boom");
        assert_eq!(dead[0].at, now);

        // Replay: due again at once, attempts reset; unknown ids: false.
        assert!(store.replay("q3").await.unwrap());
        assert!(!store.replay("q3").await.unwrap());
        assert!(!store.replay("nope").await.unwrap());
        assert!(store.dead_letters().await.unwrap().is_empty());
        let due = store.due(now, 10).await.unwrap();
        assert_eq!((due[0].event_id.as_str(), due[0].attempts), ("q3", 0));

        // A claim whose processor died runs out: the event is due again.
        let later = now + Duration::from_secs(61);
        let due = store.due(later, 10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", db.kind);
        assert_eq!(due[0].event_id, "q3");
        store.handled("q3").await.unwrap();
        assert_eq!(store.next_retry().await.unwrap(), None);

        assert!(store.handled("nope").await.is_err());
        // Handled events leave the queue; the log keeps them.
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM handler_queue").await, 0);
        assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 3);
        // Events logged later join the queue when a handler next asks.
        store.store(&message("q4")).await.unwrap();
        let due = store.due(SystemTime::now(), 10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", db.kind);
        assert_eq!(due[0].event_id, "q4");
    }
}

#[tokio::test]
async fn connecting_explains_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/sink.db");
    let err = Sink::connect(missing.to_str().unwrap()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, kaizala_sink::SinkError::MissingDirectory { .. }),
        "{text}"
    );
    assert!(
        text.contains("no/such/dir") && text.contains("mkdir"),
        "{text}"
    );

    let err = Sink::connect("mysql://localhost/db").await.unwrap_err();
    assert!(err.to_string().contains("unsupported scheme"), "{err}");

    // Nothing listens on port 1.
    let err = Sink::connect("postgres://kz:secret@127.0.0.1:1/kaizala")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, kaizala_sink::SinkError::Unreachable { .. }),
        "{text}"
    );
    assert!(!text.contains("secret"), "the password is masked: {text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");

    // A plain path creates the file; sqlite::memory: works too.
    let path = dir.path().join("plain.db");
    let sink = Sink::connect(path.to_str().unwrap()).await.unwrap();
    sink.event_store().store(&message("p")).await.unwrap();
    assert!(path.exists());
    // Durable: WAL, and a sync of the log at every commit.
    use sqlx::Row;
    let mode = sqlx::query("PRAGMA journal_mode")
        .fetch_one(sink.pool())
        .await
        .unwrap();
    assert_eq!(mode.try_get::<String, _>(0).unwrap(), "wal");
    let sync = sqlx::query("PRAGMA synchronous")
        .fetch_one(sink.pool())
        .await
        .unwrap();
    assert_eq!(sync.try_get::<i64, _>(0).unwrap(), 2, "FULL");
    let memory = Sink::connect("sqlite::memory:").await.unwrap();
    let store = memory.event_store();
    store.store(&message("m")).await.unwrap();
    memory.project().await.unwrap();
    // events, event_index, messages.
    assert_eq!(memory.counts().await.unwrap().0.values().sum::<u64>(), 3);
}

#[tokio::test]
async fn a_locked_sqlite_database_is_named() {
    let db = TestDb::sqlite().await;
    let sink = Sink::connect(&format!("{}?busy_timeout=200", db.url))
        .await
        .unwrap();
    let store = sink.event_store();
    // Another process holds the write lock longer than the busy timeout.
    use sqlx::Connection;
    // Appends write the log file, beside the database file.
    let mut holder = sqlx::AnyConnection::connect(&format!("{}-log", db.url))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE; INSERT INTO sync_state (sync_key, updated_at) VALUES ('x', 0)")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = store.store(&message("blocked")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is locked") && text.contains("0.2 s"),
        "{text}"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    // Once the lock is gone, the same event goes in.
    assert_eq!(store.store(&message("blocked")).await.unwrap(), Stored::New);
}

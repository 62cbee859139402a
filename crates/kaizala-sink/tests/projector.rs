//! The projector at work: in the background behind the event store, one at
//! a time per PostgreSQL database, past entries the database refuses, and
//! what `status` says of it — on SQLite, and on PostgreSQL when one is
//! configured.

mod support;

use std::time::{Duration, Instant};

use kaizala_sink::Sink;
use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
use serde_json::json;
use support::{databases, incoming, rows, scalar};

fn message(id: &str) -> IncomingEvent {
    incoming(
        &json!({"eventId": id, "eventType": "TextMessageCreated", "objectId": "g1",
        "objectType": "Group", "data": {"text": format!("hello {id}")}}),
    )
}

/// Sets the rebuild lease as a holder `detail` (at `position`, if any)
/// would have left it, last heard from at `updated_at` (epoch ms).
async fn set_lease(sink: &Sink, position: Option<i64>, detail: &str, updated_at: i64) {
    sqlx::query(
        "INSERT INTO sink_state (name, value, detail, updated_at) \
         VALUES ('rebuild', $1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
         detail = excluded.detail, updated_at = excluded.updated_at",
    )
    .bind(position)
    .bind(detail)
    .bind(updated_at)
    .execute(sink.pool())
    .await
    .unwrap();
}

/// Polls until the projection has caught up with the log (or fails after
/// `timeout`, showing the status).
async fn caught_up(sink: &Sink, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let status = sink.status().await.unwrap();
        if status.is_caught_up() {
            return;
        }
        assert!(Instant::now() < deadline, "not caught up:\n{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_projector_follows_the_store() {
    let mut urls: Vec<(String, &str, Option<support::TestDb>)> = Vec::new();
    for db in databases().await {
        urls.push((db.url.clone(), db.kind, Some(db)));
    }
    // In memory there is one connection: the projector must give it back.
    urls.push(("sqlite::memory:".to_owned(), "memory", None));
    for (url, kind, _db) in urls {
        let sink = Sink::connect(&url).await.unwrap();
        let projector = sink.projector().spawn();
        let store = sink.event_store();
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.store(&message(&format!("m{i:03}"))).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), Stored::New, "{kind}");
        }
        caught_up(&sink, Duration::from_secs(20)).await;
        assert_eq!(
            scalar(&sink, "SELECT COUNT(*) FROM messages").await,
            300,
            "{kind}"
        );
        let stats = projector.stats();
        assert_eq!(stats.entries, 300, "{kind}: {stats:?}");
        assert!(
            stats.batches >= 1 && stats.batches <= 300,
            "{kind}: {stats:?}"
        );
        let status = sink.status().await.unwrap();
        let holder = status.projector.expect("the projector signs its batches");
        assert!(holder.who.contains(':'), "{kind}: {holder:?}");
        assert_eq!(status.watermark, status.last_position, "{kind}");
        // Later events too, without being asked.
        store.store(&message("late")).await.unwrap();
        caught_up(&sink, Duration::from_secs(5)).await;
        assert_eq!(
            scalar(&sink, "SELECT COUNT(*) FROM messages").await,
            301,
            "{kind}"
        );
        projector.shutdown().await;
        sink.close().await;
    }
}

/// With two processes on one PostgreSQL, one projects and the other waits
/// for it to pass the log's head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_projector_per_postgres_database() {
    let Some(db) = support::TestDb::postgres().await else {
        return;
    };
    let (one, two) = (db.connect().await, db.connect().await);
    let running = one.projector().spawn();
    // Let it take the role.
    let deadline = Instant::now() + Duration::from_secs(10);
    while one.status().await.unwrap().projector.is_none() {
        one.event_store().store(&message("first")).await.unwrap();
        assert!(Instant::now() < deadline, "the projector never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = two.event_store();
    for i in 0..50 {
        store.store(&message(&format!("p{i}"))).await.unwrap();
    }
    let report = two.project().await.unwrap();
    assert!(report.projected_elsewhere, "{report:?}");
    assert_eq!(report.entries, 0, "{report:?}");
    let status = two.status().await.unwrap();
    assert!(
        report.watermark >= status.last_position,
        "{report:?}\n{status}"
    );
    assert_eq!(scalar(&two, "SELECT COUNT(*) FROM messages").await, 51);
    running.shutdown().await;
    // With the first one gone, the second projects itself.
    two.event_store().store(&message("after")).await.unwrap();
    let report = two.project().await.unwrap();
    assert!(!report.projected_elsewhere, "{report:?}");
    assert_eq!(report.entries, 1, "{report:?}");
}

/// Makes inserting the message of event `poison` fail.
async fn poison_messages(sink: &Sink, kind: &str) {
    let statements: &[&str] = if kind == "sqlite" {
        &[
            "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.event_id = 'poison' \
           BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
        ]
    } else {
        &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.event_id = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    };
    for sql in statements {
        sqlx::raw_sql(sql).execute(sink.pool()).await.unwrap();
    }
}

/// An entry whose rows the database refuses does not stop the projector:
/// its batch is retried entry by entry, and that one entry becomes a
/// projection error.
#[tokio::test]
async fn an_entry_the_database_refuses_does_not_block() {
    for db in databases().await {
        let sink = db.connect().await;
        poison_messages(&sink, db.kind).await;
        let store = sink.event_store();
        store
            .store_batch(&[message("ok-1"), message("poison"), message("ok-2")])
            .await
            .unwrap();
        let report = sink.project().await.unwrap();
        assert_eq!(
            (report.entries, report.errors),
            (3, 1),
            "{}: {report:?}",
            db.kind
        );
        let messages = rows(&sink, "SELECT event_id FROM messages ORDER BY event_id").await;
        assert_eq!(messages.len(), 2, "{}", db.kind);
        let errors = rows(&sink, "SELECT * FROM projection_errors").await;
        assert_eq!(errors.len(), 1, "{}: {errors:?}", db.kind);
        assert_eq!(errors[0]["entry_id"], "poison");
        let why = errors[0]["message"].as_str().unwrap();
        assert!(why.contains("poisoned row"), "{why}");
        let status = sink.status().await.unwrap();
        assert!(status.is_caught_up(), "{}: {status}", db.kind);
        // And it goes on.
        store.store(&message("ok-3")).await.unwrap();
        assert_eq!(sink.project().await.unwrap().entries, 1);
    }
}

#[tokio::test]
async fn status_shows_the_lag_until_projected() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let fresh = sink.status().await.unwrap();
        assert!(fresh.is_caught_up(), "{}: {fresh}", db.kind);
        assert_eq!((fresh.events.entries, fresh.watermark), (0, 0));
        for i in 0..5 {
            store.store(&message(&format!("s{i}"))).await.unwrap();
        }
        let waiting = sink.status().await.unwrap();
        assert_eq!(waiting.lag_entries, 5, "{}: {waiting}", db.kind);
        assert!(!waiting.is_caught_up());
        assert_eq!(waiting.events.entries, 5);
        assert!(waiting.events.bytes > 0);
        assert_eq!(waiting.schema_version, waiting.release_schema_version);
        assert!(waiting.tables.iter().all(|t| t.state == "current"));
        let text = waiting.to_string();
        assert!(text.contains("lag 5 entries"), "{text}");
        sink.project().await.unwrap();
        let done = sink.status().await.unwrap();
        assert_eq!(
            (done.lag_entries, done.lag_seconds),
            (0, 0.0),
            "{}",
            db.kind
        );
        assert_eq!(done.watermark, done.last_position);
        let messages = done.tables.iter().find(|t| t.name == "messages").unwrap();
        assert_eq!(messages.rows, 5);
    }
}

/// A rebuild killed halfway leaves its `__new` tables and its lease:
/// `status` says so, and once the lease has expired the projector drops
/// them.
#[tokio::test]
async fn what_a_stopped_rebuild_left_is_cleared() {
    for db in databases().await {
        let sink = db.connect().await;
        sink.event_store().store(&message("x")).await.unwrap();
        sink.project().await.unwrap();
        // As a rebuild killed three minutes ago would have left it.
        let long_ago = support::millis_ago(180_000);
        for sql in [
            "CREATE TABLE responses__new (response_id TEXT)",
            "CREATE TABLE answers__new (response_id TEXT)",
        ] {
            sqlx::raw_sql(sql).execute(sink.pool()).await.unwrap();
        }
        set_lease(&sink, Some(7), "gone:1:1 answers,responses", long_ago).await;
        let status = sink.status().await.unwrap();
        let rebuild = status.rebuild.clone().expect("the lease is shown");
        assert!(rebuild.stale, "{}: {status}", db.kind);
        assert_eq!(status.leftover_tables, ["answers__new", "responses__new"]);
        let text = status.to_string();
        assert!(
            text.contains("stopped: the next rebuild takes over"),
            "{text}"
        );
        assert!(
            text.contains("leftovers    answers__new, responses__new"),
            "{text}"
        );

        let projector = sink.projector().spawn();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = sink.status().await.unwrap();
            if status.leftover_tables.is_empty() && status.rebuild.is_none() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: not cleared:\n{status}",
                db.kind
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        projector.shutdown().await;
        // A rebuild runs again at once.
        sink.rebuild(&[], |_| {}).await.unwrap();
    }
}

/// A projector holds the rebuild lease for the moment it takes to drop a
/// stopped rebuild's tables: a rebuild asked for then waits for it instead
/// of being refused as if another rebuild ran (found by the crash
/// campaign).
#[tokio::test]
async fn a_rebuild_waits_for_a_projector_clearing_leftovers() {
    for db in databases().await {
        let sink = db.connect().await;
        sink.event_store().store(&message("x")).await.unwrap();
        sink.project().await.unwrap();
        let now = support::millis_ago(0);
        set_lease(&sink, None, "elsewhere:1:1 clearing", now).await;
        let pool = sink.pool().clone();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            sqlx::raw_sql("UPDATE sink_state SET detail = NULL WHERE name = 'rebuild'")
                .execute(&pool)
                .await
                .unwrap();
        });
        let started = Instant::now();
        let report = sink.rebuild(&[], |_| {}).await;
        release.await.unwrap();
        let report = report.unwrap_or_else(|e| panic!("{}: {e}", db.kind));
        assert_eq!(report.entries, 1, "{}", db.kind);
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{}: the rebuild did not wait for the lease",
            db.kind
        );
        // Another rebuild's lease is still refused at once.
        set_lease(&sink, None, "elsewhere:1:1 answers", now).await;
        let refused = sink.rebuild(&[], |_| {}).await.unwrap_err();
        assert!(
            refused.to_string().contains("a rebuild is already running"),
            "{}: {refused}",
            db.kind
        );
    }
}

/// A projector killed while it held the lease to drop leftovers never
/// gives it back: past a few seconds, a rebuild takes it over instead of
/// waiting the two minutes of a rebuild's lease (found by the crash
/// campaign).
#[tokio::test]
async fn a_dead_projectors_clearing_lease_is_taken_over() {
    for db in databases().await {
        let sink = db.connect().await;
        sink.event_store().store(&message("x")).await.unwrap();
        sink.project().await.unwrap();
        let twenty_seconds_ago = support::millis_ago(20_000);
        set_lease(&sink, None, "dead:1:1 clearing", twenty_seconds_ago).await;
        let started = Instant::now();
        let report = sink
            .rebuild(&[], |_| {})
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.kind));
        assert_eq!(report.entries, 1, "{}", db.kind);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: waited {:?}",
            db.kind,
            started.elapsed()
        );
    }
}

//! `?schema=NAME`: a sink inside a schema of its own, beside other data in
//! one PostgreSQL database. Every table, view, log and the migrations table
//! go there (the schema made if missing), nothing into `public`, and two
//! sinks in two schemas of one database keep apart — each with its own
//! projector running at the same time.

mod support;

use std::time::{Duration, Instant};

use kaizala_sink::{Sink, Table};
use kaizala_webhook::store::EventStore;
use serde_json::json;
use sqlx::Row;
use support::{TestDb, incoming};

/// The names of the tables and views in `schema`.
async fn relations(sink: &Sink, schema: &str) -> Vec<String> {
    sqlx::query(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = $1 \
         ORDER BY table_name",
    )
    .bind(schema)
    .fetch_all(sink.pool())
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get::<String, _>(0).unwrap())
    .collect()
}

fn message(id: &str) -> kaizala_webhook::store::IncomingEvent {
    incoming(
        &json!({"eventId": id, "eventType": "TextMessageCreated", "objectId": "g1",
        "objectType": "Group", "data": {"text": format!("hello {id}")}}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sinks_in_two_schemas_of_one_database() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let joiner = if db.url.contains('?') { '&' } else { '?' };
    let a = Sink::connect(&format!("{}{joiner}schema=kz_a", db.url))
        .await
        .unwrap();
    let b = Sink::connect(&format!("{}{joiner}schema=kz_b", db.url))
        .await
        .unwrap();
    let plain = Sink::connect(&db.url).await.unwrap();

    let in_a = relations(&a, "kz_a").await;
    for name in [
        "events",
        "pull_log",
        "responses",
        "answers",
        "_sqlx_migrations",
    ] {
        assert!(
            in_a.contains(&name.to_owned()),
            "{name} not in kz_a: {in_a:?}"
        );
    }
    assert_eq!(in_a, relations(&a, "kz_b").await, "the two schemas differ");
    // The sink without a schema made its own in public, and only there.
    assert_eq!(in_a, relations(&a, "public").await);

    // Both projectors run at once: the advisory lock is per schema.
    let (pa, pb) = (a.projector().spawn(), b.projector().spawn());
    for i in 0..5 {
        a.event_store()
            .store(&message(&format!("a{i}")))
            .await
            .unwrap();
    }
    b.event_store().store(&message("b0")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ca, cb) = (a.counts().await.unwrap(), b.counts().await.unwrap());
        if ca.get(Table::Messages) == 5 && cb.get(Table::Messages) == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not both projected: kz_a {} messages, kz_b {}",
            ca.get(Table::Messages),
            cb.get(Table::Messages)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pa.shutdown().await;
    pb.shutdown().await;
    assert_eq!(plain.counts().await.unwrap().get(Table::Messages), 0);
    for sink in [a, b, plain] {
        sink.close().await;
    }

    // A bad name is refused before anything is made.
    let err = Sink::connect(&format!("{}{joiner}schema=Kz-A", db.url))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema=\"Kz-A\": a schema name is"), "{err}");
    let err = Sink::connect("sqlite::memory:?schema=kz_a")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema=NAME is for PostgreSQL"), "{err}");
}

//! Durable ingest rate: events per second through `SqlEventStore` (each
//! `store` call acknowledged only after its transaction committed, many
//! callers at once as a busy receiver has them) against a bare batched
//! insert of the same rows (events, responses, answers, messages, member
//! changes, members; 256 events per transaction, multi-row statements) into
//! the same database, in the same run. SQLite always (a temporary file,
//! WAL, `synchronous=FULL`); PostgreSQL too when `KAIZALA_TEST_POSTGRES_URL`
//! names a server (a database is created for the run and dropped after).
//!
//! `cargo bench -p kaizala-sink --bench ingest`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

#[path = "support/bare_insert.rs"]
mod bare_insert;

use bare_insert::{Received, create_postgres, drop_postgres};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kaizala_sink::Sink;
use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
use serde_json::json;

/// Events per measured iteration.
const EVENTS: usize = 2048;
/// Concurrent `store` callers.
const CALLERS: usize = 512;
/// Events per transaction of the bare insert (the store's largest batch).
const BATCH: usize = 256;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A realistic mix: 70% survey responses (nine answers each), 20% text
/// messages, 10% members joining.
fn events(n: usize) -> Vec<IncomingEvent> {
    (0..n)
        .map(|_| {
            let i = NEXT.fetch_add(1, Ordering::Relaxed);
            let id = format!("bench-{i:010}");
            let json = match i % 10 {
                0..=6 => json!({"eventId": id, "eventType": "SurveyResponse", "objectId": "g1",
                    "objectType": "Group", "fromUserId": format!("u{}", i % 997),
                    "data": {"actionId": "survey-1", "groupId": "g1",
                        "responseId": format!("r{i}"), "isUpdateResponse": false,
                        "responder": "+919900000000", "responderId": format!("u{}", i % 997),
                        "responderName": "Asha Rao", "isAnonymous": false,
                        "responseDetails": {"responseWithQuestions": [
                            {"title": "Retailer Outlet", "type": "SingleOption",
                             "options": [{"title": "ABC Traders"}, {"title": "BCD Distributors"}],
                             "answer": [if i.is_multiple_of(3) { "ABC Traders" } else { "BCD Distributors" }]},
                            {"title": "Products", "type": "MultiOption",
                             "options": [{"title": "Rice"}, {"title": "Atta"}], "answer": ["Rice", "Atta"]},
                            {"title": "Rice 1KG", "type": "Numeric", "answer": (i % 20) as f64},
                            {"title": "Visit date", "type": "Date", "answer": 1_795_000_000_000_i64},
                            {"title": "Location", "type": "Location",
                             "answer": {"lt": 12.97, "lg": 77.59, "n": "Koramangala, Bengaluru"}},
                            {"title": "Shelf photo", "type": "AttachmentList",
                             "answer": [{"mediaUrl": "https://example.com/p.jpg", "mediaFileName": "p.jpg"}]},
                            {"title": "Remarks", "type": "Text", "answer": "Stock delivered on time"},
                            {"title": "Owner", "type": "Phone", "answer": {"cc": "+91", "pn": "9812345678"}},
                            {"title": "ResponseTime", "type": "DateTime", "isInvisible": true,
                             "answer": 1_795_000_000_000_i64 + i as i64}]}}}),
                7 | 8 => json!({"eventId": id, "eventType": "TextMessageCreated", "objectId": "g1",
                    "objectType": "Group", "fromUserId": "u1", "fromUserName": "Asha Rao",
                    "data": {"text": format!("Reached outlet {i}. Starting the stock audit now.")}}),
                _ => json!({"eventId": id, "eventType": "MemberAdded", "objectId": "g1",
                    "objectType": "Group", "fromUserId": "u1",
                    "data": {"member": "+919900000001", "memberId": format!("m{i}"),
                        "memberName": "Jan Decker", "type": "Member"}}),
            };
            let body = serde_json::to_vec(&json).unwrap();
            IncomingEvent::new(body, SystemTime::now()).unwrap()
        })
        .collect()
}

/// Every event stored by `CALLERS` concurrent callers; the time it took.
async fn through_store(sink: &Sink, events: Vec<IncomingEvent>) -> Duration {
    let store = sink.event_store();
    let queue = Arc::new(std::sync::Mutex::new(events));
    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, queue) = (store.clone(), Arc::clone(&queue));
            tokio::spawn(async move {
                loop {
                    let Some(event) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    assert_eq!(store.store(&event).await.unwrap(), Stored::New);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    started.elapsed()
}

/// The same rows inserted directly, [`BATCH`] events per transaction (the
/// rows are built before the clock starts).
async fn bare(sink: &Sink, events: Vec<IncomingEvent>, sqlite: bool) -> Duration {
    let batches = events
        .chunks(BATCH)
        .map(|batch| {
            let received: Vec<Received<'_>> = batch
                .iter()
                .map(|e| Received {
                    body: &e.body,
                    at: e
                        .received_at
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as i64,
                })
                .collect();
            bare_insert::rows_of(&received)
        })
        .collect();
    bare_insert::insert(sink.pool(), batches, sqlite).await
}

fn bench_backend(c: &mut Criterion, runtime: &tokio::runtime::Runtime, label: &str, url: &str) {
    let sink = runtime.block_on(Sink::connect(url)).unwrap();
    let sqlite = label == "sqlite";
    let mut group = c.benchmark_group(format!("ingest/{label}"));
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(2));
    group.bench_function("sql_event_store", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let sink = sink.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += through_store(&sink, events(EVENTS)).await;
                }
                total
            }
        })
    });
    group.bench_function("bare_batched_insert", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let sink = sink.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += bare(&sink, events(EVENTS), sqlite).await;
                }
                total
            }
        })
    });
    group.finish();
    let stats = sink.event_store().stats();
    eprintln!(
        "ingest/{label}: {} events in {} transactions (largest {})",
        stats.events, stats.batches, stats.largest_batch
    );
    runtime.block_on(sink.close());
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    bench_backend(c, &runtime, "sqlite", path.to_str().unwrap());

    match std::env::var("KAIZALA_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            let (url, name) = runtime.block_on(create_postgres(&admin, "kzsink_bench"));
            bench_backend(c, &runtime, "postgres", &url);
            runtime.block_on(drop_postgres(&admin, &name));
        }
        _ => eprintln!(
            "ingest/postgres skipped: set KAIZALA_TEST_POSTGRES_URL or run through cargo xtask bench"
        ),
    }
}

criterion_group!(benches, ingest);
criterion_main!(benches);

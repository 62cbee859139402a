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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kaizala_sink::Sink;
use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
use serde_json::{Value, json};
use sqlx::Connection;

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

#[derive(Clone)]
enum V {
    T(Option<String>),
    I(Option<i64>),
    F(Option<f64>),
}

fn t(s: impl Into<String>) -> V {
    V::T(Some(s.into()))
}

fn text(v: &Value) -> V {
    V::T(v.as_str().map(str::to_owned))
}

/// The rows `SqlEventStore` writes for these events, by table.
fn rows_of(events: &[IncomingEvent]) -> Vec<(&'static str, Vec<Vec<V>>)> {
    let (mut ev, mut resp, mut ans, mut msg, mut chg, mut mem) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for e in events {
        let json: Value = serde_json::from_slice(&e.body).unwrap();
        let at = e
            .received_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let id = json["eventId"].as_str().unwrap().to_owned();
        ev.push(vec![
            t(&id),
            text(&json["eventType"]),
            t("g1"),
            t("Group"),
            t("g1"),
            text(&json["fromUserId"]),
            V::I(Some(at)),
            t(String::from_utf8(e.body.to_vec()).unwrap()),
            V::I(Some(at)),
        ]);
        let d = &json["data"];
        match json["eventType"].as_str().unwrap() {
            "SurveyResponse" => {
                let questions = d["responseDetails"]["responseWithQuestions"]
                    .as_array()
                    .unwrap();
                resp.push(vec![
                    text(&d["responseId"]),
                    t("survey-1"),
                    t("g1"),
                    V::T(None),
                    text(&d["responderId"]),
                    text(&d["responder"]),
                    text(&d["responderName"]),
                    V::I(Some(0)),
                    V::I(None),
                    V::I(Some(0)),
                    V::I(Some(at)),
                    V::I(Some(at)),
                    V::I(Some(at)),
                    t("0123456789abcdef"),
                    t(d["responseDetails"].to_string()),
                ]);
                for (i, q) in questions.iter().enumerate() {
                    let a = &q["answer"];
                    let (tv, nv, jv) = match a {
                        Value::String(s) => (V::T(Some(s.clone())), V::F(None), V::T(None)),
                        Value::Number(n) => (V::T(None), V::F(n.as_f64()), V::T(None)),
                        other => (V::T(None), V::F(None), V::T(Some(other.to_string()))),
                    };
                    ans.push(vec![
                        text(&d["responseId"]),
                        V::I(Some(i as i64)),
                        t("survey-1"),
                        text(&q["title"]),
                        text(&q["type"]),
                        V::I(Some(i64::from(q["isInvisible"] == true))),
                        tv,
                        nv,
                        jv,
                    ]);
                }
            }
            "TextMessageCreated" => msg.push(vec![
                t(&id),
                t("g1"),
                t("u1"),
                V::T(None),
                t("Asha Rao"),
                text(&d["text"]),
                V::I(Some(at)),
            ]),
            _ => {
                chg.push(vec![
                    t(&id),
                    t("g1"),
                    text(&d["memberId"]),
                    text(&d["member"]),
                    text(&d["memberName"]),
                    t("Member"),
                    t("added"),
                    t("u1"),
                    V::T(None),
                    V::I(Some(at)),
                ]);
                mem.push(vec![
                    t("g1"),
                    text(&d["memberId"]),
                    text(&d["member"]),
                    text(&d["memberName"]),
                    t("Member"),
                    V::I(None),
                    V::T(None),
                    V::I(Some(at)),
                    V::I(Some(at)),
                ]);
            }
        }
    }
    vec![
        (
            "events (event_id, event_type, object_id, object_type, group_id, from_user_id, \
             received_at, payload, due_at)",
            ev,
        ),
        (
            "responses (response_id, action_id, group_id, package_id, responder_id, \
             responder_phone, responder_name, is_anonymous, is_completed, is_update, \
             responded_at, version_at, first_seen_at, fingerprint, details)",
            resp,
        ),
        (
            "answers (response_id, question_index, action_id, title, question_type, \
             is_invisible, text_value, number_value, json_value)",
            ans,
        ),
        (
            "messages (event_id, group_id, sender_id, sender_phone, sender_name, text, sent_at)",
            msg,
        ),
        (
            "member_changes (event_id, group_id, member_id, phone, name, role, change_type, \
             by_user_id, by_user_name, changed_at)",
            chg,
        ),
        (
            "members (group_id, member_id, phone, name, role, is_provisioned, profile_pic, \
             joined_at, updated_at)",
            mem,
        ),
    ]
}

/// The same rows inserted directly, `BATCH` events per transaction, 64
/// rows per statement.
async fn bare(sink: &Sink, events: Vec<IncomingEvent>, sqlite: bool) -> Duration {
    let started = Instant::now();
    for batch in events.chunks(BATCH) {
        let mut conn = sink.pool().acquire().await.unwrap();
        let mut tx = conn
            .begin_with(if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })
            .await
            .unwrap();
        for (table, rows) in rows_of(batch) {
            for chunk in rows.chunks(64) {
                let cols = chunk[0].len();
                let values: Vec<String> = (0..chunk.len())
                    .map(|r| {
                        let ps: Vec<String> = (0..cols)
                            .map(|c| format!("${}", r * cols + c + 1))
                            .collect();
                        format!("({})", ps.join(","))
                    })
                    .collect();
                let sql = format!("INSERT INTO {table} VALUES {}", values.join(","));
                let mut q = sqlx::query(&sql);
                for v in chunk.iter().flatten() {
                    q = match v.clone() {
                        V::T(s) => q.bind(s),
                        V::I(i) => q.bind(i),
                        V::F(Some(f)) => q.bind(f),
                        V::F(None) => q.bind(None::<f32>),
                    };
                }
                q.execute(&mut *tx).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

async fn create_postgres(admin: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let name = format!("kzsink_bench_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let start = admin.find("://").unwrap() + 3;
    let end = admin[start..].find('/').map_or(admin.len(), |i| start + i);
    let query = admin.find('?').map_or("", |q| &admin[q..]);
    (format!("{}/{name}{query}", &admin[..end]), name)
}

async fn drop_postgres(admin: &str, name: &str) {
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
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
            let (url, name) = runtime.block_on(create_postgres(&admin));
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

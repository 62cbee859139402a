//! The ack path's database work alone, without HTTP: events per second
//! appended by `SqlEventStore` (each `store` call returns once its batch
//! committed; 64 callers at once, as a receiver with 64 deliveries in
//! flight has them) against the baseline receiver's writer (one table,
//! `(event_id, body)`, the same group commit; `support/baseline.rs`) called
//! the same way, in the same run. The events are the 2,150-byte
//! SurveyResponse callback, a fresh `eventId` each, built before the clock
//! starts.
//!
//! Group `append_sqlite` always (temporary files: WAL, `synchronous=FULL`);
//! `append_postgres` when `KAIZALA_TEST_POSTGRES_URL` names a durable server
//! (`fsync` and `synchronous_commit` on; a database is made for each side
//! and dropped after). `kaizala-cli`'s `ingest` bench measures the same
//! through HTTP and the `kaizala` binary; this one says how much of that is
//! the store's.
//!
//! `cargo bench -p kaizala-sink --bench append`

#[allow(dead_code)] // the HTTP half is for kaizala-cli's benches
#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/survey.rs"]
mod survey;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use baseline::Baseline;
use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use kaizala_sink::Sink;
use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
use sqlx::Row;

/// Concurrent callers.
const CALLERS: usize = 64;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Whether criterion measures (`cargo bench`) rather than checks once
/// (`cargo test --benches`).
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn events_per_iteration() -> usize {
    if measuring() { 4096 } else { 128 }
}

fn bodies(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|_| survey::survey(NEXT.fetch_add(1, Ordering::Relaxed)))
        .collect()
}

/// Runs `work` on each item from `CALLERS` tasks at once; the time it took.
async fn concurrently<T, F, Fut>(items: Vec<T>, work: F) -> Duration
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let queue = Arc::new(Mutex::new(items));
    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (queue, work) = (Arc::clone(&queue), work.clone());
            tokio::spawn(async move {
                loop {
                    let Some(item) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    work(item).await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    started.elapsed()
}

async fn count(pool: &sqlx::AnyPool, table: &str) -> u64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap() as u64
}

fn bench_backend(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    label: &str,
    sink_url: &str,
    baseline_url: &str,
) {
    let n = events_per_iteration();
    let sink = runtime.block_on(Sink::connect(sink_url)).unwrap();
    let store = runtime.block_on(async { sink.event_store() });
    let baseline = runtime.block_on(Baseline::open(baseline_url));
    let (stored, appended) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));

    let mut group = c.benchmark_group(format!("append_{label}"));
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(8));
    group.warm_up_time(Duration::from_secs(2));
    runtime.block_on(postgres::checkpoint(sink.pool()));
    group.bench_function("sql_event_store", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, stored) = (store.clone(), Arc::clone(&stored));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let events: Vec<IncomingEvent> = bodies(n)
                        .into_iter()
                        .map(|body| IncomingEvent::new(body, SystemTime::now()).unwrap())
                        .collect();
                    let store = store.clone();
                    total += concurrently(events, move |event| {
                        let store = store.clone();
                        async move {
                            assert_eq!(store.store(&event).await.unwrap(), Stored::New);
                        }
                    })
                    .await;
                    stored.fetch_add(n as u64, Ordering::Relaxed);
                }
                total
            }
        })
    });
    runtime.block_on(postgres::checkpoint(sink.pool()));
    group.bench_function("baseline_writer", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (baseline, appended) = (baseline.clone(), Arc::clone(&appended));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let events: Vec<(String, Bytes)> = bodies(n)
                        .into_iter()
                        .map(|body| (baseline::event_id(&body).unwrap(), body))
                        .collect();
                    let baseline = baseline.clone();
                    total += concurrently(events, move |(id, body)| {
                        let baseline = baseline.clone();
                        async move { assert!(baseline.append(id, body).await) }
                    })
                    .await;
                    appended.fetch_add(n as u64, Ordering::Relaxed);
                }
                total
            }
        })
    });
    group.finish();

    // What was acknowledged is there.
    let (stored, appended) = (
        stored.load(Ordering::Relaxed),
        appended.load(Ordering::Relaxed),
    );
    let (in_log, in_baseline) = runtime.block_on(async {
        let pool = baseline::pool(baseline_url).await;
        let appended = count(&pool, baseline::TABLE).await;
        pool.close().await;
        (count(sink.pool(), "events").await, appended)
    });
    assert_eq!(in_log, stored, "append_{label}: rows in events");
    assert_eq!(
        in_baseline,
        appended,
        "append_{label}: rows in {}",
        baseline::TABLE
    );
    let s = store.stats();
    let b = baseline.stats();
    eprintln!(
        "append_{label}: SqlEventStore {} events in {} transactions (largest {}); baseline {} in {} (largest {})",
        s.events,
        s.batches,
        s.largest_batch,
        b.events.load(Ordering::Relaxed),
        b.batches.load(Ordering::Relaxed),
        b.largest.load(Ordering::Relaxed),
    );
    runtime.block_on(sink.close());
}

fn append(c: &mut Criterion) {
    // The `kaizala` binary's runtime: one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sink_db = dir.path().join("sink.db");
    let baseline_db = baseline::sqlite_url(&dir.path().join("baseline.db"));
    bench_backend(
        c,
        &runtime,
        "sqlite",
        sink_db.to_str().unwrap(),
        &baseline_db,
    );

    if let Some(admin) = runtime.block_on(postgres::server(measuring(), "append")) {
        let (sink_url, sink_name) = runtime.block_on(postgres::create(&admin, "kzsink_append"));
        let (base_url, base_name) =
            runtime.block_on(postgres::create(&admin, "kzsink_append_base"));
        bench_backend(c, &runtime, "postgres", &sink_url, &base_url);
        runtime.block_on(postgres::drop(&admin, &sink_name));
        runtime.block_on(postgres::drop(&admin, &base_name));
    }
}

criterion_group!(benches, append);
criterion_main!(benches);

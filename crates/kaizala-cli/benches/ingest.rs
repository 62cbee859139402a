//! Durable ingest rate of the `kaizala ingest` process: events per second
//! acknowledged by the real binary (a 200 means the event's transaction
//! committed), against a bare batched insert of the same rows into the
//! same database, in the same run.
//!
//! - `kaizala_ingest`: `kaizala ingest` (the release binary cargo builds
//!   with this bench) runs as a child process on loopback; 256 POSTs of
//!   distinct events at a time (`KAIZALA_BENCH_IN_FLIGHT` to change it)
//!   over kept-alive HTTP/1.1 connections (a `hyper_util` legacy client),
//!   with the callback token; timed until every POST of the iteration was
//!   answered 200. The events are built before the clock starts.
//! - `bare_insert`: the rows the sink writes for those events (`events`
//!   with the full payload, `responses`, `answers`, `messages`,
//!   `member_changes`, `members`) inserted by this process directly, 256
//!   events per transaction, 64 rows per multi-row `INSERT` — no HTTP, no
//!   JSON decoding, no duplicate check: the database's own cost.
//!
//! Group `cli_ingest_sqlite` always (a temporary file: WAL,
//! `synchronous=FULL`, as the sink opens it); group `cli_ingest_postgres` when
//! `KAIZALA_TEST_POSTGRES_URL` names a server (a database is created for
//! the run and dropped after). Both entries write into the same database,
//! one after the other.
//!
//! `cargo bench -p kaizala-cli --bench ingest`

/// The baseline, shared with kaizala-sink's `ingest` bench.
#[path = "../../kaizala-sink/benches/support/bare_insert.rs"]
mod bare_insert;
#[allow(dead_code)] // the scale-out test's generator: part of it is for the test
#[path = "../tests/ingest_support/events.rs"]
mod events;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bare_insert::{Received, create_postgres, drop_postgres};
use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use events::{SampleEvent, sample_event};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kaizala_sink::Sink;
use sqlx::Row;

/// Events per measured iteration.
const EVENTS: usize = 2048;
/// POSTs in flight at once, unless `KAIZALA_BENCH_IN_FLIGHT` says
/// otherwise: enough to fill the store's batches of 256 (the bare
/// insert's transaction size), as a busy receiver's are.
const IN_FLIGHT: usize = 256;

/// `IN_FLIGHT`, or `KAIZALA_BENCH_IN_FLIGHT` (to see how the rate depends
/// on concurrency).
fn in_flight() -> usize {
    std::env::var("KAIZALA_BENCH_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(IN_FLIGHT)
}
/// Events per transaction of the bare insert (the store's largest batch).
const BATCH: usize = 256;
/// The callback token and path the receiver is started with.
const TOKEN: &str = "bench-callback-token-5d0b";
const PATH: &str = "/kaizala";

/// Event numbers: both entries write into one database, so no id repeats.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// `n` new events, with distinct members (the bare insert has no upsert).
fn fresh(n: usize) -> Vec<SampleEvent> {
    (0..n)
        .map(|_| sample_event("bench", NEXT.fetch_add(1, Ordering::Relaxed), None))
        .collect()
}

type Http = Client<HttpConnector, Full<Bytes>>;

/// A `kaizala ingest` child process; killed when dropped.
struct IngestProcess {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl IngestProcess {
    /// Starts the release binary on a free loopback port and waits until
    /// it answers the validation request.
    async fn start(db_url: &str, log_dir: &Path, client: &Http) -> IngestProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = log_dir.join(format!("ingest-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_kaizala"))
            .args(["ingest", "--db", db_url, "--listen", &addr.to_string()])
            .args(["--callback-token", TOKEN, "--path", PATH])
            .env("RUST_LOG", "warn,sqlx=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting the kaizala binary");
        let mut process = IngestProcess {
            child,
            url: format!("http://{addr}{PATH}"),
            log,
        };
        let ping = format!("{}?validationToken=ping", process.url);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let request = http::Request::get(&ping)
                .body(Full::new(Bytes::new()))
                .unwrap();
            if let Ok(response) = client.request(request).await
                && response.status() == 200
            {
                let _ = response.into_body().collect().await;
                return process;
            }
            assert!(
                process.child.try_wait().unwrap().is_none() && Instant::now() < deadline,
                "kaizala ingest did not start:\n{}",
                process.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM: it drains and prints its summary line, which is returned.
    async fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "kaizala ingest did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stderr = self.stderr();
        stderr
            .lines()
            .rev()
            .find(|l| l.contains(" received, "))
            .unwrap_or_else(|| panic!("no summary from kaizala ingest:\n{stderr}"))
            .to_owned()
    }
}

impl Drop for IngestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every event POSTed, `in_flight` at a time; the time until the last 200.
async fn through_ingest(
    client: &Http,
    url: &str,
    events: Vec<SampleEvent>,
    in_flight: usize,
) -> Duration {
    let bodies: Arc<Vec<Bytes>> = Arc::new(events.into_iter().map(|e| e.body).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let posters: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            let (bodies, next) = (Arc::clone(&bodies), Arc::clone(&next));
            tokio::spawn(async move {
                while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let request = http::Request::post(&url)
                        .header(
                            http::header::CONTENT_TYPE,
                            "application/json; charset=utf-8",
                        )
                        .header("kz-callback-token", TOKEN)
                        .body(Full::new(body.clone()))
                        .unwrap();
                    let response = client.request(request).await.unwrap();
                    let status = response.status();
                    let answer = response.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                }
            })
        })
        .collect();
    for poster in posters {
        poster.await.unwrap();
    }
    started.elapsed()
}

/// The same rows inserted directly, `BATCH` events per transaction; the
/// time it took. The rows are built before the clock starts: the baseline
/// is the database's work alone.
async fn bare_insert(sink: &Sink, events: Vec<SampleEvent>, sqlite: bool) -> Duration {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let batches = events
        .chunks(BATCH)
        .map(|batch| {
            let received: Vec<Received<'_>> = batch
                .iter()
                .map(|e| Received { body: &e.body, at })
                .collect();
            bare_insert::rows_of(&received)
        })
        .collect();
    bare_insert::insert(sink.pool(), batches, sqlite).await
}

/// Both entries of one backend's group, on the database at `url`, then
/// the check that every event is there once.
fn bench_backend(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    label: &str,
    url: &str,
    log_dir: &Path,
) {
    let sqlite = label == "sqlite";
    let in_flight = in_flight();
    // Migrated here first, so the receiver finds the tables made.
    let sink = runtime.block_on(Sink::connect(url)).unwrap();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(in_flight)
        .build(connector);
    let ingest = runtime.block_on(IngestProcess::start(url, log_dir, &client));
    let (ingested, inserted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));

    let mut group = c.benchmark_group(format!("cli_ingest_{label}"));
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    // Each iteration takes a good fraction of a second: the same number of
    // iterations per sample keeps the run within the measurement time.
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(10));
    group.warm_up_time(Duration::from_secs(2));
    group.bench_function("kaizala_ingest", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (client, url, ingested) =
                (client.clone(), ingest.url.clone(), Arc::clone(&ingested));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += through_ingest(&client, &url, fresh(EVENTS), in_flight).await;
                    ingested.fetch_add(EVENTS as u64, Ordering::Relaxed);
                }
                total
            }
        })
    });
    group.bench_function("bare_insert", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (sink, inserted) = (sink.clone(), Arc::clone(&inserted));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += bare_insert(&sink, fresh(EVENTS), sqlite).await;
                    inserted.fetch_add(EVENTS as u64, Ordering::Relaxed);
                }
                total
            }
        })
    });
    group.finish();

    // What was acknowledged is there: the comparison is of work done.
    let summary = runtime.block_on(ingest.stop());
    let (ingested, inserted) = (
        ingested.load(Ordering::Relaxed),
        inserted.load(Ordering::Relaxed),
    );
    let stored = runtime.block_on(async {
        sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(sink.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    });
    assert_eq!(
        stored as u64,
        ingested + inserted,
        "ingest_{label}: rows in events"
    );
    assert!(
        summary.contains(&format!(" {ingested} stored, 0 duplicates")),
        "ingest_{label}: kaizala ingest said {summary:?}, {ingested} events were acknowledged"
    );
    eprintln!(
        "ingest_{label}: kaizala ingest ({in_flight} POSTs in flight): {summary}; \
         bare insert: {inserted} events"
    );
    runtime.block_on(sink.close());
}

/// SQLite, then PostgreSQL if there is a server.
fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let url = format!("sqlite://{}", path.display());
    bench_backend(c, &runtime, "sqlite", &url, dir.path());

    match std::env::var("KAIZALA_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            let (url, name) = runtime.block_on(create_postgres(&admin, "kzcli_bench"));
            bench_backend(c, &runtime, "postgres", &url, dir.path());
            runtime.block_on(drop_postgres(&admin, &name));
        }
        _ => eprintln!(
            "cli_ingest_postgres skipped: set KAIZALA_TEST_POSTGRES_URL (cargo xtask services prints it)"
        ),
    }
}

criterion_group!(benches, ingest);
criterion_main!(benches);

//! Acknowledged events per second: the `kaizala ingest` process against
//! the least a durable receiver can do, with the same load, in the same
//! run.
//!
//! - `kaizala_ingest`: the release `kaizala ingest` binary (built by cargo
//!   with this bench) as a child process on 127.0.0.1, with a callback
//!   token and path, projecting in the background as it does by default. A
//!   200 means the event is committed to the event log.
//! - `baseline_receiver`: `kaizala-sink/benches/support/baseline.rs` — a
//!   hyper HTTP/1.1 server that reads the body, takes its `eventId` and
//!   hands both to one writer task, which appends what is queued (up to
//!   256) to one table in one transaction and answers 200 after the commit
//!   — as a child process too (this bench binary started again), on a
//!   database of its own with the same durability: SQLite a file, WAL,
//!   `synchronous=FULL`, opened the way the sink opens it; PostgreSQL the
//!   same server, which must run with `fsync` and `synchronous_commit` on.
//!
//! The load is the same for both, from this process: a `hyper_util` legacy
//! client over kept-alive HTTP/1.1 connections, N POSTs in flight at all
//! times (each with the `kz-callback-token` header and a distinct
//! `eventId`), timed until the last POST of the iteration was answered
//! 200; the bodies are built before the clock starts. Groups
//! `cli_ingest_{workload}_{in_flight}_{backend}`:
//!
//! - workload `survey`: the 2,150-byte SurveyResponse callback
//!   (`kaizala-types/benches/data/survey_response_2k.json`), a fresh
//!   `eventId` (and `responseId`) each; `mixed`: the scale-out test's mix
//!   (`tests/ingest_support/events.rs`: 70% survey responses, 20% text
//!   messages, 10% members joining; 710 bytes a body on average);
//! - 64 and 256 POSTs in flight (the target is at 64);
//! - SQLite always; PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` names a
//!   durable server (a database is made for each receiver and dropped
//!   after).
//!
//! With `KAIZALA_BENCH_NO_PROJECT=1` each group has a third entry,
//! `kaizala_ingest_no_project`: `kaizala ingest --no-project` on a database
//! of its own — the ack path without the projector beside it, to tell the
//! two costs apart.
//!
//! After each `kaizala_ingest` entry the bench waits for the projector to
//! catch up, so no entry runs beside the previous one's backlog; on
//! PostgreSQL it forces a checkpoint before each entry, so none pays for
//! flushing what another wrote (the server is shared, and with `fsync` and
//! `full_page_writes` on a checkpoint is what costs most). At the end it checks that
//! every acknowledged event is in its table exactly once, that `kaizala
//! ingest` reported each stored once, and that the projection reached the
//! log's head without errors; and it prints each receiver's CPU time per
//! event. Run as a test (`cargo test --all-targets`), each entry delivers
//! one iteration of 64 events and the same checks run.
//!
//! `cargo bench -p kaizala-cli --bench ingest`

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use kaizala_sink::Sink;
use support::load::{self, Http, Workload};
use support::process::{self, ServerProcess};
use support::{baseline, measuring, postgres, scalar};

/// POSTs in flight.
const IN_FLIGHT: [usize; 2] = [64, 256];
const WORKLOADS: [Workload; 2] = [Workload::Survey, Workload::Mixed];

fn events_per_iteration() -> usize {
    if measuring() { 4096 } else { 64 }
}

/// CPU time per entry, for the notes printed at the end.
#[derive(Default)]
struct Cpu {
    rows: Vec<String>,
}

impl Cpu {
    /// Runs `entry` and notes the CPU time the receiver, the PostgreSQL
    /// server and the load generator spent per acknowledged event.
    fn note<R>(
        &mut self,
        group: &str,
        entry: &str,
        receiver: &ServerProcess,
        acked: &AtomicU64,
        run: impl FnOnce() -> R,
    ) -> R {
        let before = (
            receiver.cpu(),
            process::postgres_cpu(),
            process::own_cpu(),
            acked.load(Ordering::Relaxed),
        );
        let result = run();
        let events = acked.load(Ordering::Relaxed) - before.3;
        if events == 0 {
            // Left out by a filter.
            return result;
        }
        let events = events as f64;
        let per_event = |after: Duration, before: Duration| {
            format!(
                "{:.1}",
                after.saturating_sub(before).as_secs_f64() * 1e6 / events
            )
        };
        self.rows.push(format!(
            "| {group} | {entry} | {events} | {} | {} | {} |",
            per_event(receiver.cpu(), before.0),
            per_event(process::postgres_cpu(), before.1),
            per_event(process::own_cpu(), before.2),
        ));
        result
    }
}

/// The databases of one backend: `kaizala ingest`'s, the baseline's, and
/// the one of `kaizala ingest --no-project` when it runs too.
struct Databases {
    ingest: String,
    baseline: String,
    no_project: Option<String>,
}

/// Every group of one backend.
fn bench_backend(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    label: &str,
    dbs: &Databases,
    log_dir: &Path,
) {
    let n = events_per_iteration();
    // Migrated here first, so the receiver finds its tables made.
    let sink = runtime.block_on(Sink::connect(&dbs.ingest)).unwrap();
    let client: Http = load::client(*IN_FLIGHT.iter().max().unwrap());
    let ingest = runtime.block_on(ServerProcess::ingest(&dbs.ingest, log_dir, &client));
    let base = runtime.block_on(ServerProcess::baseline(&dbs.baseline, log_dir, &client));
    let no_project = dbs.no_project.as_deref().map(|db| {
        runtime.block_on(async {
            Sink::connect(db).await.unwrap().close().await;
            ServerProcess::ingest_with(db, log_dir, &client, &["--no-project"]).await
        })
    });
    let acked: [Arc<AtomicU64>; 3] = Default::default();
    let mut entries = vec![
        ("baseline_receiver", &base, &acked[0]),
        ("kaizala_ingest", &ingest, &acked[1]),
    ];
    if let Some(process) = &no_project {
        entries.push(("kaizala_ingest_no_project", process, &acked[2]));
    }
    let mut cpu = Cpu::default();

    for workload in WORKLOADS {
        for in_flight in IN_FLIGHT {
            let name = format!("cli_ingest_{}_{in_flight}_{label}", workload.name());
            let mut group = c.benchmark_group(&name);
            group.throughput(Throughput::Elements(n as u64));
            group.sample_size(10);
            // An iteration takes a good fraction of a second: the same
            // number of them in each sample keeps to the measurement time.
            group.sampling_mode(SamplingMode::Flat);
            group.measurement_time(Duration::from_secs(8));
            group.warm_up_time(Duration::from_secs(2));
            for &(entry, receiver, acked) in &entries {
                runtime.block_on(postgres::checkpoint(sink.pool()));
                cpu.note(&name, entry, receiver, acked, || {
                    group.bench_function(entry, |b| {
                        b.to_async(runtime).iter_custom(|iters| {
                            let (client, url) = (client.clone(), receiver.url.clone());
                            async move {
                                let mut total = Duration::ZERO;
                                for _ in 0..iters {
                                    let bodies = workload.bodies(n);
                                    total +=
                                        load::closed_loop(&client, &url, bodies, in_flight).await;
                                    acked.fetch_add(n as u64, Ordering::Relaxed);
                                }
                                total
                            }
                        })
                    });
                    if entry == "kaizala_ingest" {
                        // Its projector's work for these events is part of
                        // its CPU time, and no backlog reaches the next entry.
                        runtime.block_on(support::caught_up(&sink, Duration::from_secs(600)));
                    }
                });
            }
            group.finish();
        }
    }
    drop(entries);

    // What was acknowledged is there, once; and projected.
    let baseline_stats = runtime.block_on(base.baseline_stats(&client));
    drop(base);
    let summary = runtime.block_on(ingest.stop());
    let (appended, ingested) = (
        acked[0].load(Ordering::Relaxed),
        acked[1].load(Ordering::Relaxed),
    );
    if let (Some(process), Some(db)) = (no_project, &dbs.no_project) {
        let summary = runtime.block_on(process.stop());
        let stored = acked[2].load(Ordering::Relaxed);
        let in_log = runtime.block_on(async {
            let sink = Sink::connect(db).await.unwrap();
            let n = scalar(sink.pool(), "SELECT COUNT(*) FROM events").await as u64;
            sink.close().await;
            n
        });
        assert_eq!(in_log, stored, "{label}: rows in events (--no-project)");
        assert!(
            summary.contains(&format!(" {stored} stored, 0 duplicates")),
            "{label}: kaizala ingest --no-project said:\n{summary}"
        );
    }
    let (in_log, indexed, errors) = runtime.block_on(async {
        (
            scalar(sink.pool(), "SELECT COUNT(*) FROM events").await as u64,
            scalar(sink.pool(), "SELECT COUNT(*) FROM event_index").await as u64,
            scalar(sink.pool(), "SELECT COUNT(*) FROM projection_errors").await,
        )
    });
    let in_baseline = runtime.block_on(async {
        let pool = baseline::pool(&dbs.baseline).await;
        let n = scalar(&pool, &format!("SELECT COUNT(*) FROM {}", baseline::TABLE)).await;
        pool.close().await;
        n as u64
    });
    assert_eq!(in_log, ingested, "{label}: rows in events");
    assert_eq!(
        in_baseline,
        appended,
        "{label}: rows in {}",
        baseline::TABLE
    );
    assert_eq!(
        (indexed, errors),
        (ingested, 0),
        "{label}: the projection of every event"
    );
    assert!(
        summary.contains(&format!(" {ingested} stored, 0 duplicates")),
        "{label}: kaizala ingest said:\n{summary}\n{ingested} events were acknowledged"
    );
    let line = |prefix: &str| {
        summary
            .lines()
            .rev()
            .find(|l| l.starts_with(prefix) || l.contains(prefix))
            .unwrap_or_default()
            .to_owned()
    };
    eprintln!(
        "\n{label}: kaizala ingest: {}; {}\n{label}: baseline: {baseline_stats}\n",
        line(" received, "),
        line("projected ")
    );
    eprintln!(
        "CPU time per acknowledged event, µs (whole entry: warm-up, samples and, for \
         kaizala_ingest, the projector catching up)\n\n\
         | group | entry | events | receiver process | postgres processes | load generator |\n\
         |---|---|---:|---:|---:|---:|\n{}\n",
        cpu.rows.join("\n")
    );
    runtime.block_on(sink.close());
}

/// Whether `kaizala ingest --no-project` runs too.
fn with_no_project() -> bool {
    std::env::var("KAIZALA_BENCH_NO_PROJECT").is_ok_and(|v| v == "1")
}

fn main() {
    baseline::serve_if_child();
    let mut c = Criterion::default().configure_from_args();
    // The load generator's runtime; the receivers have their own processes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let dbs = Databases {
        ingest: sqlite("ingest.db"),
        baseline: baseline::sqlite_url(&dir.path().join("baseline.db")),
        no_project: with_no_project().then(|| sqlite("no_project.db")),
    };
    bench_backend(&mut c, &runtime, "sqlite", &dbs, dir.path());

    if let Some(admin) = runtime.block_on(postgres::server(measuring(), "ingest")) {
        let mut made = Vec::new();
        let mut create = |prefix: &str| {
            let (url, name) = runtime.block_on(postgres::create(&admin, prefix));
            made.push(name);
            url
        };
        let dbs = Databases {
            ingest: create("kzcli_ingest"),
            baseline: create("kzcli_baseline"),
            no_project: with_no_project().then(|| create("kzcli_no_project")),
        };
        bench_backend(&mut c, &runtime, "postgres", &dbs, dir.path());
        for name in made {
            runtime.block_on(postgres::drop(&admin, &name));
        }
    }
    c.final_summary();
}

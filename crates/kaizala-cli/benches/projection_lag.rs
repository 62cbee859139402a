//! Does the projector keep up? `kaizala ingest` (the release binary, a
//! child process, projecting in the background as it runs by default) is
//! offered 80% of the most it acknowledges, for 20 seconds, and each
//! event's projection lag is measured from outside: the time its rows were
//! committed by the projector minus the time its POST was acknowledged.
//!
//! 1. The maximum ack rate: closed loop with 64, then 256 POSTs in flight
//!    (5 s each, the projection caught up before each; the mixed workload
//!    of `tests/ingest_support/events.rs`), the better of the two — or
//!    `KAIZALA_BENCH_MAX_RATE` events/s.
//! 2. Paced load at 80% of it: POST `i` is sent at `i / rate` seconds from
//!    the start (open loop, up to 1,024 in flight), each with a fresh
//!    `eventId`; the instant each is answered 200 is recorded.
//! 3. Meanwhile, every 20 ms, `SELECT value FROM sink_state WHERE name =
//!    'watermark'` (the last log position projected, committed with the
//!    rows), with the instant the answer came. Afterwards, each event's
//!    position (`SELECT event_id, position FROM events`): its lag is the
//!    first sample whose watermark reached its position, minus its ack.
//!    (So a lag is late by up to the 20 ms between samples; one below zero
//!    — projected before the answer reached the client — counts as zero.)
//!
//! Prints a markdown table: p50, p99 and the maximum lag per backend, the
//! rates (offered, acknowledged, and log entries projected per second while
//! the load lasted, from the watermark samples), and the target (p99 < 1 s). SQLite always (a temporary file, as
//! the sink opens it); PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` names a
//! durable server (`fsync`, `synchronous_commit` on; a database is made
//! for the run and dropped after).
//!
//! `cargo bench -p kaizala-cli --bench projection_lag` (also run by `cargo
//! xtask bench`). Without `--bench` (as `cargo test --all-targets` runs it)
//! it makes a short smoke run: a 1 s probe at 16 in flight, 2 s paced, and
//! checks every event was projected.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kaizala_sink::Sink;
use sqlx::Row;
use support::load::{self, Workload};
use support::process::ServerProcess;
use support::{baseline, measuring, ms, postgres, quantile, thousands};

/// The target: p99 lag below this.
const TARGET_P99: Duration = Duration::from_secs(1);
/// The share of the maximum ack rate offered.
const LOAD: f64 = 0.8;
/// How often the watermark is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// POSTs in flight at most while paced.
const CAP: usize = 1024;

struct Plan {
    probes: Vec<usize>,
    probe_for: Duration,
    /// Bodies built for each probe: more than it can take in the time.
    probe_bodies: usize,
    paced_for: Duration,
}

struct Measured {
    backend: &'static str,
    max_rate: f64,
    probe: String,
    offered: f64,
    achieved: f64,
    /// Log entries projected per second while the load lasted.
    projected_rate: f64,
    events: usize,
    ack_p99: Duration,
    late_max: Duration,
    lag: Vec<Duration>,
    projector: String,
}

/// The most events per second `kaizala ingest` acknowledges (closed loop,
/// the better of `plan.probes` in flight), and how each probe did.
async fn max_rate(sink: &Sink, client: &load::Http, url: &str, plan: &Plan) -> (f64, String) {
    if let Some(rate) = std::env::var("KAIZALA_BENCH_MAX_RATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        return (rate, "given by KAIZALA_BENCH_MAX_RATE".to_owned());
    }
    let mut best: f64 = 0.0;
    let mut notes = Vec::new();
    for &in_flight in &plan.probes {
        let bodies = Workload::Mixed.bodies(plan.probe_bodies);
        let deadline = Instant::now() + plan.probe_for;
        let (took, done) =
            load::closed_loop_until(client, url, bodies, in_flight, Some(deadline)).await;
        let rate = done as f64 / took.as_secs_f64();
        let (watermark, head) = support::watermark_and_head(sink).await;
        notes.push(format!(
            "{}/s at {in_flight} in flight (the projection {} entries behind at its end)",
            thousands(rate),
            thousands((head - watermark) as f64)
        ));
        best = best.max(rate);
        support::caught_up(sink, Duration::from_secs(600)).await;
    }
    (best, notes.join(", "))
}

async fn measure(backend: &'static str, db: &str, log_dir: &Path, plan: &Plan) -> Measured {
    let sink = Sink::connect(db).await.unwrap();
    let client = load::client(CAP);
    // The client keeps up to CAP connections, and the server still counts
    // one the client dropped until it sees it closed: a cap of CAP would
    // refuse a few of the paced POSTs with 503, which is the cap working,
    // not what this bench measures.
    let max_connections = (4 * CAP).to_string();
    let ingest = ServerProcess::ingest_with(
        db,
        log_dir,
        &client,
        &["--max-connections", &max_connections],
    )
    .await;

    let (max_rate, probe) = max_rate(&sink, &client, &ingest.url, plan).await;

    let offered = LOAD * max_rate;
    let n = (offered * plan.paced_for.as_secs_f64()).ceil() as usize;
    let events = Workload::Mixed.events(n);
    let (ids, bodies): (Vec<String>, Vec<_>) = events.into_iter().unzip();

    // The sampler, on a connection of its own.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (pool, stop) = (sink.pool().clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut samples: Vec<(Instant, i64)> = Vec::new();
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let watermark: i64 =
                    sqlx::query("SELECT value FROM sink_state WHERE name = 'watermark'")
                        .fetch_one(&pool)
                        .await
                        .and_then(|row| row.try_get::<Option<i64>, _>(0))
                        .unwrap()
                        .unwrap_or(0);
                samples.push((Instant::now(), watermark));
            }
            samples
        })
    };
    let paced = load::paced(&client, &ingest.url, bodies, offered, CAP).await;
    let last_ack = paced.acks.iter().max().copied().unwrap_or(paced.started);
    let achieved = n as f64 / last_ack.duration_since(paced.started).as_secs_f64();
    support::caught_up(&sink, Duration::from_secs(600)).await;
    // One more sample after the catch-up, so every event has one.
    tokio::time::sleep(3 * SAMPLE_EVERY).await;
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.await.unwrap();

    // How fast the projector went while the load lasted.
    let window: Vec<&(Instant, i64)> = samples
        .iter()
        .filter(|(at, _)| *at >= paced.started && *at <= last_ack)
        .collect();
    let projected_rate = match (window.first(), window.last()) {
        (Some((t0, w0)), Some((t1, w1))) if t1 > t0 => {
            (w1 - w0) as f64 / t1.duration_since(*t0).as_secs_f64()
        }
        _ => 0.0,
    };
    let positions: HashMap<String, i64> = sqlx::query("SELECT event_id, position FROM events")
        .fetch_all(sink.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| (row.try_get(0).unwrap(), row.try_get(1).unwrap()))
        .collect();
    let mut lag: Vec<Duration> = ids
        .iter()
        .zip(&paced.acks)
        .map(|(id, acked)| {
            let position = *positions.get(id).unwrap_or_else(|| {
                panic!("{backend}: {id} was acknowledged but is not in the log")
            });
            let first = samples.partition_point(|(_, watermark)| *watermark < position);
            let (seen, _) = samples
                .get(first)
                .unwrap_or_else(|| panic!("{backend}: position {position} was never projected"));
            seen.saturating_duration_since(*acked)
        })
        .collect();
    lag.sort();
    let mut latencies = paced.latencies;
    latencies.sort();

    let stderr = ingest.stop().await;
    let projector = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("projected "))
        .unwrap_or("no projector summary")
        .to_owned();
    sink.close().await;
    Measured {
        backend,
        max_rate,
        probe,
        offered,
        achieved,
        projected_rate,
        events: n,
        ack_p99: quantile(&latencies, 0.99),
        late_max: paced.late_max,
        lag,
        projector,
    }
}

fn main() {
    baseline::serve_if_child();
    let full = measuring();
    let plan = if full {
        Plan {
            probes: vec![64, 256],
            probe_for: Duration::from_secs(5),
            probe_bodies: 200_000,
            paced_for: Duration::from_secs(20),
        }
    } else {
        Plan {
            probes: vec![16],
            probe_for: Duration::from_secs(1),
            probe_bodies: 5_000,
            paced_for: Duration::from_secs(2),
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    let sqlite = format!("sqlite://{}", dir.path().join("lag.db").display());
    runs.push(runtime.block_on(measure("SQLite", &sqlite, dir.path(), &plan)));
    if let Some(admin) = runtime.block_on(postgres::server(full, "projection_lag")) {
        let (url, name) = runtime.block_on(postgres::create(&admin, "kzcli_lag"));
        runs.push(runtime.block_on(measure("PostgreSQL", &url, dir.path(), &plan)));
        runtime.block_on(postgres::drop(&admin, &name));
    }

    let mut out = format!(
        "`projection_lag` (`cargo bench -p kaizala-cli --bench projection_lag`){}\n\n",
        if full { "" } else { ", smoke run" }
    );
    out.push_str(&format!(
        "`kaizala ingest` offered {:.0}% of its maximum ack rate for {} s (mixed workload, paced); \
         lag = the projector's commit of an event's rows − its POST's ack (watermark sampled every {} ms)\n\n",
        LOAD * 100.0,
        plan.paced_for.as_secs(),
        SAMPLE_EVERY.as_millis()
    ));
    out.push_str(
        "| backend | max ack rate | offered | acked | projected | events | ack p99 | lag p50 | lag p99 | lag max |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in &runs {
        out.push_str(&format!(
            "| {} | {}/s | {}/s | {}/s | {}/s | {} | {} | {} | **{}** | {} |\n",
            m.backend,
            thousands(m.max_rate),
            thousands(m.offered),
            thousands(m.achieved),
            thousands(m.projected_rate),
            thousands(m.events as f64),
            ms(m.ack_p99),
            ms(quantile(&m.lag, 0.5)),
            ms(quantile(&m.lag, 0.99)),
            ms(*m.lag.last().unwrap_or(&Duration::ZERO)),
        ));
    }
    out.push('\n');
    for m in &runs {
        out.push_str(&format!(
            "{}: maximum ack rate {}; paced sends at most {} behind schedule; kaizala ingest: {}\n",
            m.backend,
            m.probe,
            ms(m.late_max),
            m.projector
        ));
    }
    out.push('\n');
    for m in &runs {
        let p99 = quantile(&m.lag, 0.99);
        let met = if p99 < TARGET_P99 { "met" } else { "NOT met" };
        out.push_str(&format!(
            "target {} projection lag p99 < {}: {met} ({})\n",
            m.backend,
            ms(TARGET_P99),
            ms(p99)
        ));
    }
    print!("{out}");
}

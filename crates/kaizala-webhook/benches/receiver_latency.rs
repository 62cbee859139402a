//! Latency under load: how long the platform's validation GET waits, and how
//! long event POSTs wait for their acknowledgement, while 200 event POSTs are
//! in flight at all times. Criterion's means say nothing of percentiles, so
//! this bench measures with `Instant` and prints its own markdown table.
//!
//! The receiver ([`kaizala_webhook::serve`], callback token, a
//! [`MemoryEventStore`]) runs on a multi-threaded tokio runtime on
//! 127.0.0.1, together with its load in the same process:
//!
//! - 200 POST loops, each on its own kept-alive connection (a bare
//!   `hyper_util` client), posting the 2,150-byte SurveyResponse callback with
//!   a fresh `eventId` each time, back to back, and timing each POST from
//!   sending to the 200;
//! - after a second of that, 2,000 validation GETs
//!   (`?validationToken=probe-P-N`) from 8 probe connections of their own,
//!   250 back to back on each, each timed from sending to the echoed token.
//!   (Probing from a single connection would take ~20 s at ~10 ms a GET,
//!   and the memory store would hold ~400,000 events by then.)
//!
//! Only POSTs made while the GETs are sampled are counted. The table gives
//! p50, p99 and the maximum of both; the GET's p99 is held under 50 ms.
//!
//! `cargo bench -p kaizala-webhook --bench receiver_latency` (also run by
//! `cargo xtask bench`). Without `--bench` (as `cargo test --all-targets`
//! runs it) it makes a short smoke run: 20 loops, 50 GETs from 2 connections.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kaizala_webhook::{MemoryEventStore, ReceiverConfig, serve};
use tokio::net::TcpListener;

const SURVEY: &[u8] = include_bytes!("../../kaizala-types/benches/data/survey_response_2k.json");
const SAMPLE_ID: &str = "3e49b367-acf6-48a7-a675-6bf4d372a070";
const TOKEN: &str = "bench-callback-token-5f1d0c9a";
/// The GET's p99 target.
const TARGET_P99: Duration = Duration::from_millis(50);

type Bare = Client<HttpConnector, Full<Bytes>>;

struct Load {
    post_loops: usize,
    /// Validation GETs in all, made by `probes` connections, one after the
    /// other on each.
    gets: usize,
    probes: usize,
    warm_up: Duration,
}

fn client(connections: usize) -> Bare {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(http)
}

/// The sample callback with `eventId` number `n`, the same length as the
/// sample's.
fn body(n: u64) -> Bytes {
    static AT: LazyLock<usize> = LazyLock::new(|| {
        let text = std::str::from_utf8(SURVEY).expect("UTF-8");
        text.find(SAMPLE_ID).expect("the sample's eventId")
    });
    let at = *AT;
    let mut body = Vec::with_capacity(SURVEY.len());
    body.extend_from_slice(&SURVEY[..at]);
    write!(body, "00000000-0000-4000-8000-{n:012x}").expect("writing to a Vec");
    body.extend_from_slice(&SURVEY[at + SAMPLE_ID.len()..]);
    Bytes::from(body)
}

/// Sorted latencies: the `q`-quantile (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Measured {
    gets: Vec<Duration>,
    posts: Vec<Duration>,
    window: Duration,
    server_p99_bound: Option<Duration>,
    stored: u64,
}

async fn measure(load: &Load) -> Measured {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = ReceiverConfig::new()
        .callback_token(TOKEN)
        .expect("a token");
    let receiver = serve(listener, config, MemoryEventStore::new());
    let base = receiver.url();

    let next_id = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let posts_client = client(load.post_loops);
    let uri: http::Uri = base.parse().expect("a URI");
    let loops: Vec<_> = (0..load.post_loops)
        .map(|_| {
            let (client, uri) = (posts_client.clone(), uri.clone());
            let (next_id, measuring, stop) = (
                Arc::clone(&next_id),
                Arc::clone(&measuring),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let request = Request::post(uri.clone())
                        .header("kz-callback-token", TOKEN)
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(Full::new(body(next_id.fetch_add(1, Ordering::Relaxed))))
                        .expect("a valid request");
                    let counted = measuring.load(Ordering::Relaxed);
                    let sent = Instant::now();
                    let response = posts_client_request(&client, request).await;
                    let took = sent.elapsed();
                    assert_eq!(response, StatusCode::OK);
                    if counted && measuring.load(Ordering::Relaxed) {
                        latencies.push(took);
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(load.warm_up).await;

    let probes = client(load.probes);
    measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let probing: Vec<_> = (0..load.probes)
        .map(|probe| {
            let (probes, base) = (probes.clone(), base.clone());
            let count = load.gets / load.probes;
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                for n in 0..count {
                    let token = format!("probe-{probe}-{n}");
                    let request = Request::get(format!("{base}?validationToken={token}"))
                        .body(Full::new(Bytes::new()))
                        .expect("a valid request");
                    let sent = Instant::now();
                    let response = probes.request(request).await.expect("an answer");
                    let status = response.status();
                    let echoed = response.into_body().collect().await.expect("the body");
                    let took = sent.elapsed();
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(echoed.to_bytes(), token.as_bytes());
                    latencies.push(took);
                }
                latencies
            })
        })
        .collect();
    let mut gets = Vec::with_capacity(load.gets);
    for probe in probing {
        gets.extend(probe.await.expect("a probe"));
    }
    let window = window.elapsed();
    measuring.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);

    let mut posts = Vec::new();
    for task in loops {
        posts.extend(task.await.expect("a POST loop"));
    }
    let snapshot = receiver.metrics().snapshot();
    assert_eq!(snapshot.stored, next_id.load(Ordering::Relaxed));
    drop((posts_client, probes));
    receiver.shutdown().await;
    gets.sort();
    posts.sort();
    Measured {
        gets,
        posts,
        window,
        server_p99_bound: snapshot.ack_latency_quantile(0.99),
        stored: snapshot.stored,
    }
}

async fn posts_client_request(client: &Bare, request: Request<Full<Bytes>>) -> StatusCode {
    let response = client.request(request).await.expect("an answer");
    let status = response.status();
    black_box(response.into_body().collect().await.expect("the body"));
    status
}

/// The process's peak resident memory, where the OS tells (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MB", kb / 1024.0))
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let load = if full {
        Load {
            post_loops: 200,
            gets: 2_000,
            probes: 8,
            warm_up: Duration::from_secs(1),
        }
    } else {
        Load {
            post_loops: 20,
            gets: 50,
            probes: 2,
            warm_up: Duration::from_millis(100),
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let m = runtime.block_on(measure(&load));

    let row = |name: &str, sorted: &[Duration]| {
        format!(
            "| {name} | {} | {} | {} | {} |\n",
            sorted.len(),
            ms(quantile(sorted, 0.5)),
            ms(quantile(sorted, 0.99)),
            ms(*sorted.last().expect("some requests"))
        )
    };
    let mut out = format!(
        "`receiver_latency` (`cargo bench -p kaizala-webhook --bench receiver_latency`){}\n\n",
        if full { "" } else { ", smoke run" }
    );
    out.push_str(&format!(
        "{} event POSTs in flight; {} validation GETs from {} connections in {:.2} s; {:.0} events/s acknowledged meanwhile\n\n",
        load.post_loops,
        m.gets.len(),
        load.probes,
        m.window.as_secs_f64(),
        m.posts.len() as f64 / m.window.as_secs_f64()
    ));
    out.push_str("| request | count | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n");
    out.push_str(&row("validation GET", &m.gets));
    out.push_str(&row("event POST (to the ack)", &m.posts));
    if let Some(bound) = m.server_p99_bound {
        out.push_str(&format!(
            "\nthe receiver's own ack-latency histogram (headers read to the ack, whole run, bucket bound): p99 ≤ {}\n",
            ms(bound)
        ));
    }
    if let Some(peak) = peak_rss() {
        out.push_str(&format!(
            "events stored: {}; peak resident memory of the process: {peak}\n",
            m.stored
        ));
    }
    let p99 = quantile(&m.gets, 0.99);
    let met = if p99 < TARGET_P99 { "met" } else { "NOT met" };
    out.push_str(&format!(
        "\ntarget validation GET p99 < {}: {met} ({})\n",
        ms(TARGET_P99),
        ms(p99)
    ));
    print!("{out}");
}

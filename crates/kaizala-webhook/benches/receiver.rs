//! Webhook events per second the receiver takes in, next to a minimal hyper
//! server that only reads each body and parses it into a
//! `serde_json::Value`, both driven by the same client in the same run.
//!
//! Each request POSTs the 2,150-byte SurveyResponse callback
//! (`crates/kaizala-types/benches/data/survey_response_2k.json`) with a
//! fresh `eventId` of the same length (a counter shared by every request of
//! the run, so the receiver never sees a duplicate) and the
//! `kz-callback-token` header:
//!
//! - `receiver`: [`kaizala_webhook::serve`] with a callback token and a
//!   [`MemoryEventStore`] — header timeout, constant-time token check, body
//!   limit and read timeout, nesting check, typed decode, dedupe and store,
//!   counters, the 200 once stored;
//! - `minimal_value`: hyper's HTTP/1.1 server with a `service_fn` that reads
//!   the whole body, parses it into a `serde_json::Value` and answers 200
//!   with an empty body.
//!
//! The client is a bare `hyper_util` legacy client (HTTP/1.1, keep-alive,
//! `TCP_NODELAY`) with 8 requests in flight — 8 tasks, each posting on its
//! own kept-alive connection — so the figure is throughput, not one
//! request's round trip. Everything runs on one multi-threaded tokio runtime
//! on 127.0.0.1; each batch is timed inside a task on that runtime (see the
//! client bench for why).
//!
//! Each criterion sample gets a fresh server (and client, whose connections
//! are opened before the clock starts), so the memory store holds one
//! sample's events at most and neither side carries state from the last.
//!
//! Target: the receiver takes in at least as many events as the minimal
//! server (speed ratio ≥ 1.0). Run with `cargo xtask bench`, or
//! `cargo bench -p kaizala-webhook --bench receiver`.

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kaizala_webhook::{MemoryEventStore, Receiver, ReceiverConfig, serve};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SURVEY: &[u8] = include_bytes!("../../kaizala-types/benches/data/survey_response_2k.json");
/// The `eventId` in the sample, replaced in every request.
const SAMPLE_ID: &str = "3e49b367-acf6-48a7-a675-6bf4d372a070";
const TOKEN: &str = "bench-callback-token-5f1d0c9a";
/// Requests in flight at once.
const IN_FLIGHT: usize = 8;

type Bare = Client<HttpConnector, Full<Bytes>>;

/// The sample callback with a new `eventId` of the same length each time.
struct Bodies {
    prefix: &'static [u8],
    suffix: &'static [u8],
    next: AtomicU64,
}

impl Bodies {
    fn new() -> Self {
        let text = std::str::from_utf8(SURVEY).expect("UTF-8");
        let at = text.find(SAMPLE_ID).expect("the sample's eventId");
        assert_eq!(text.matches(SAMPLE_ID).count(), 1);
        Bodies {
            prefix: &SURVEY[..at],
            suffix: &SURVEY[at + SAMPLE_ID.len()..],
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> Bytes {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut body = Vec::with_capacity(SURVEY.len());
        body.extend_from_slice(self.prefix);
        write!(body, "00000000-0000-4000-8000-{n:012x}").expect("writing to a Vec");
        body.extend_from_slice(self.suffix);
        Bytes::from(body)
    }
}

/// One event POST; the status must be 200.
async fn post(client: &Bare, uri: &http::Uri, body: Bytes) {
    let request = Request::post(uri.clone())
        .header("kz-callback-token", TOKEN)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .expect("a valid request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    black_box(response.into_body().collect().await.expect("the body"));
}

/// `count` POSTs, [`IN_FLIGHT`] at a time; how long they took.
async fn drive(client: &Bare, uri: &http::Uri, bodies: &Arc<Bodies>, count: u64) -> Duration {
    let remaining = Arc::new(AtomicI64::new(count as i64));
    let start = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, uri, bodies) = (client.clone(), uri.clone(), Arc::clone(bodies));
            let remaining = Arc::clone(&remaining);
            tokio::spawn(async move {
                while remaining.fetch_sub(1, Ordering::Relaxed) > 0 {
                    post(&client, &uri, bodies.next()).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a worker");
    }
    start.elapsed()
}

fn client() -> Bare {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(http)
}

/// The server under test, for one sample.
enum Server {
    Receiver(Receiver<MemoryEventStore>),
    Minimal(JoinHandle<()>),
}

impl Server {
    async fn start(name: &str) -> (Server, http::Uri) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("an address");
        let server = match name {
            "receiver" => {
                let config = ReceiverConfig::new()
                    .callback_token(TOKEN)
                    .expect("a token");
                Server::Receiver(serve(listener, config, MemoryEventStore::new()))
            }
            "minimal_value" => Server::Minimal(tokio::spawn(minimal_value(listener))),
            other => unreachable!("{other}"),
        };
        (server, format!("http://{addr}/").parse().expect("a URI"))
    }

    async fn stop(self, events: u64) {
        match self {
            Server::Receiver(receiver) => {
                assert_eq!(receiver.store().len() as u64, events, "every event stored");
                receiver.shutdown().await;
            }
            Server::Minimal(task) => task.abort(),
        }
    }
}

/// Reads each body, parses it into a `Value`, answers 200 (400 if not JSON).
async fn minimal_value(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|request: Request<Incoming>| async move {
                let body = request.into_body().collect().await?.to_bytes();
                let status = match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(value) => {
                        black_box(value);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::BAD_REQUEST,
                };
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = status;
                Ok::<_, hyper::Error>(response)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn receiver_events(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let bodies = Arc::new(Bodies::new());
    // Both answer the sample as expected before anything is measured.
    runtime.block_on(async {
        for name in ["receiver", "minimal_value"] {
            let (server, uri) = Server::start(name).await;
            drive(&client(), &uri, &bodies, 2 * IN_FLIGHT as u64).await;
            server.stop(2 * IN_FLIGHT as u64).await;
        }
    });

    let mut group = c.benchmark_group("receiver_events");
    group.throughput(Throughput::Elements(1));
    for name in ["receiver", "minimal_value"] {
        group.bench_function(name, |b| {
            b.iter_custom(|events| {
                let bodies = Arc::clone(&bodies);
                runtime.block_on(async move {
                    tokio::spawn(async move {
                        let (server, uri) = Server::start(name).await;
                        let client = client();
                        // Open the connections before the clock starts.
                        drive(&client, &uri, &bodies, IN_FLIGHT as u64).await;
                        let elapsed = drive(&client, &uri, &bodies, events).await;
                        drop(client);
                        server.stop(events + IN_FLIGHT as u64).await;
                        elapsed
                    })
                    .await
                    .expect("the timed task")
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, receiver_events);
criterion_main!(benches);

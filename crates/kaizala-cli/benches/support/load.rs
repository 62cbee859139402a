//! The load generator every receiver gets: a `hyper_util` legacy client
//! over kept-alive HTTP/1.1 connections (`TCP_NODELAY`), each POST with
//! the callback token and a distinct `eventId`; closed loop (N in flight,
//! the next one sent as soon as one is answered) or paced (open loop at a
//! given rate).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

use super::{events, survey};

/// The callback token and path `kaizala ingest` is started with, and the
/// client type: the tests' own.
pub use super::ingest_support::{Http, PATH, TOKEN};

/// A client keeping up to `connections` connections alive.
pub fn client(connections: usize) -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(connector)
}

/// What is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The 2,150-byte SurveyResponse callback, a fresh `eventId` (and
    /// `responseId`) each.
    Survey,
    /// `tests/ingest_support/events.rs`: 70% survey responses (three to
    /// nine answers), 20% text messages, 10% members joining; 710 bytes a
    /// body on average.
    Mixed,
}

/// Event numbers: unique across the process, so no delivery repeats an id.
static NEXT: AtomicU64 = AtomicU64::new(0);

impl Workload {
    /// Its name in group names and tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Survey => "survey",
            Workload::Mixed => "mixed",
        }
    }

    /// `n` new deliveries: each event's id and body.
    pub fn events(self, n: usize) -> Vec<(String, Bytes)> {
        (0..n)
            .map(|_| {
                let i = NEXT.fetch_add(1, Ordering::Relaxed);
                match self {
                    Workload::Survey => (
                        format!("00000000-0000-4000-8000-{i:012x}"),
                        survey::survey(i),
                    ),
                    Workload::Mixed => {
                        let event = events::sample_event("bench", i, None);
                        (event.id, event.body)
                    }
                }
            })
            .collect()
    }

    /// `n` new bodies.
    pub fn bodies(self, n: usize) -> Vec<Bytes> {
        self.events(n).into_iter().map(|(_, body)| body).collect()
    }
}

/// POSTs one event as the platform does; the status (a broken connection
/// fails the bench: neither receiver should drop one).
pub async fn post(client: &Http, url: &str, body: Bytes) -> u16 {
    super::ingest_support::post_event(client, url, body)
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// Every body POSTed, `in_flight` at a time, each answered 200; the time
/// until the last answer.
pub async fn closed_loop(
    client: &Http,
    url: &str,
    bodies: Vec<Bytes>,
    in_flight: usize,
) -> Duration {
    closed_loop_until(client, url, bodies, in_flight, None)
        .await
        .0
}

/// [`closed_loop`], stopping early at `deadline`; the time it took and how
/// many were answered.
pub async fn closed_loop_until(
    client: &Http,
    url: &str,
    bodies: Vec<Bytes>,
    in_flight: usize,
    deadline: Option<Instant>,
) -> (Duration, usize) {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let posters: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            let (bodies, next, done) = (Arc::clone(&bodies), Arc::clone(&next), Arc::clone(&done));
            tokio::spawn(async move {
                while deadline.is_none_or(|d| Instant::now() < d) {
                    let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let status = post(&client, &url, body.clone()).await;
                    assert_eq!(status, 200, "POST {url}");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for poster in posters {
        poster.await.unwrap();
    }
    (started.elapsed(), done.load(Ordering::Relaxed))
}

/// What a paced run saw.
#[derive(Debug)]
pub struct Paced {
    /// When the first POST was due.
    pub started: Instant,
    /// When each POST was answered, in the order of the bodies.
    pub acks: Vec<Instant>,
    /// How long each waited for its answer.
    pub latencies: Vec<Duration>,
    /// How late POSTs were sent against their schedule, at most.
    pub late_max: Duration,
}

/// Open loop: body `i` is sent at `i / rate` seconds (however many are in
/// flight, up to `cap`), each answered 200.
pub async fn paced(client: &Http, url: &str, bodies: Vec<Bytes>, rate: f64, cap: usize) -> Paced {
    let slots = Arc::new(Semaphore::new(cap));
    let started = Instant::now();
    let mut late_max = Duration::ZERO;
    let mut posts = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let slot = Arc::clone(&slots).acquire_owned().await.unwrap();
        late_max = late_max.max(Instant::now().saturating_duration_since(due));
        let (client, url) = (client.clone(), url.to_owned());
        posts.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = post(&client, &url, body).await;
            let acked = Instant::now();
            drop(slot);
            assert_eq!(status, 200, "POST {url}");
            (acked, acked - sent)
        }));
    }
    let mut acks = Vec::with_capacity(posts.len());
    let mut latencies = Vec::with_capacity(posts.len());
    for post in posts {
        let (acked, latency) = post.await.unwrap();
        acks.push(acked);
        latencies.push(latency);
    }
    Paced {
        started,
        acks,
        latencies,
        late_max,
    }
}

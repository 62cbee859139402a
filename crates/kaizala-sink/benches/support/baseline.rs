//! The baseline of the ingest benches: the least a durable webhook
//! receiver can do. A hyper HTTP/1.1 server reads each POST's body, takes
//! its `eventId` (a borrowed field of a two-line serde struct, the rest of
//! the JSON skipped) and hands `(eventId, body)` to one writer task; the
//! writer takes whatever is queued (up to 256), appends it to one table in
//! one transaction — multi-row `INSERT … ON CONFLICT (event_id) DO NOTHING`,
//! so a redelivery is stored once — commits, and answers each waiter: 200
//! once committed, 503 if the transaction failed. No authentication, no
//! positions, no head columns, no counters.
//!
//! It runs with the durability `kaizala ingest` has: SQLite a file opened
//! the way `kaizala-sink` opens it (WAL, `synchronous=FULL`, the same busy
//! timeout and pool size, `BEGIN IMMEDIATE`); PostgreSQL whatever the
//! server is set to (the benches refuse a server without `fsync` or
//! `synchronous_commit`). Same sqlx, same multi-row statement shapes (64,
//! 16, 4 and 1 rows, so four prepared statements serve every batch) with
//! the same placeholders (`?` on SQLite, `$n` on PostgreSQL), same tokio
//! runtime settings as the `kaizala` binary when it runs as a child process
//! ([`serve_if_child`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The table the baseline appends to.
pub const TABLE: &str = "baseline_events";
/// The most events one transaction takes (as `SqlEventStore`'s writer).
pub const MAX_BATCH: usize = 256;
/// Set (to `ADDR URL`) in the environment of a bench binary started as
/// the baseline receiver's process.
pub const CHILD_VAR: &str = "KAIZALA_BENCH_BASELINE";

/// The sqlx URL of an SQLite file, as `kaizala-sink` makes it from a path.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A connection pool set up as `kaizala-sink` sets up its own.
pub async fn pool(url: &str) -> AnyPool {
    const PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;";
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    let options = AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(30))
        .max_connections(if sqlite { 4 } else { 8 });
    let options = if sqlite {
        let mut probe = AnyConnection::connect(url).await.unwrap();
        probe
            .execute(format!("{PRAGMAS} PRAGMA journal_mode = WAL;").as_str())
            .await
            .unwrap();
        let _ = probe.close().await;
        options.after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(PRAGMAS).await?;
                Ok(())
            })
        })
    } else {
        options
    };
    options.connect(url).await.unwrap()
}

/// What the writer did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Events in them.
    pub events: AtomicU64,
    /// The largest batch committed.
    pub largest: AtomicU64,
    /// Transactions that failed.
    pub failed: AtomicU64,
}

struct Job {
    event_id: String,
    body: Bytes,
    reply: oneshot::Sender<bool>,
}

/// The writer of the baseline: one task, group commit.
#[derive(Clone)]
pub struct Baseline {
    sender: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

impl Baseline {
    /// Opens the database at `url` (an sqlx URL), makes the table, starts
    /// the writer on the current runtime.
    pub async fn open(url: &str) -> Baseline {
        let pool = pool(url).await;
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (event_id TEXT PRIMARY KEY, body TEXT NOT NULL)"
        ))
        .execute(&pool)
        .await
        .unwrap();
        let sqlite = url.starts_with("sqlite:");
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        tokio::spawn(writer(pool, sqlite, receiver, Arc::clone(&stats)));
        Baseline { sender, stats }
    }

    /// Appends one event; whether it was committed.
    pub async fn append(&self, event_id: String, body: Bytes) -> bool {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            event_id,
            body,
            reply,
        };
        self.sender.send(job).await.is_ok() && answer.await.unwrap_or(false)
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

async fn writer(pool: AnyPool, sqlite: bool, mut queue: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let committed = match append(&pool, sqlite, &jobs).await {
            Ok(()) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.events.fetch_add(jobs.len() as u64, Ordering::Relaxed);
                stats
                    .largest
                    .fetch_max(jobs.len() as u64, Ordering::Relaxed);
                true
            }
            Err(err) => {
                eprintln!("baseline: a batch of {} failed: {err}", jobs.len());
                stats.failed.fetch_add(1, Ordering::Relaxed);
                false
            }
        };
        for job in jobs {
            let _ = job.reply.send(committed);
        }
    }
}

/// One transaction: the batch in multi-row statements of 64, 16, 4 and 1
/// rows.
async fn append(pool: &AnyPool, sqlite: bool, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let mut tx = pool
        .begin_with(if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })
        .await?;
    let mut rest = jobs;
    while !rest.is_empty() {
        let size = [64, 16, 4, 1]
            .into_iter()
            .find(|s| *s <= rest.len())
            .unwrap();
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let values: Vec<String> = (0..size)
            .map(|r| {
                if sqlite {
                    "(?, ?)".to_owned()
                } else {
                    format!("(${}, ${})", 2 * r + 1, 2 * r + 2)
                }
            })
            .collect();
        let sql = format!(
            "INSERT INTO {TABLE} (event_id, body) VALUES {} ON CONFLICT (event_id) DO NOTHING",
            values.join(",")
        );
        let mut query = sqlx::query(&sql);
        for job in chunk {
            // UTF-8 was checked when the request was read.
            let body = std::str::from_utf8(&job.body).unwrap_or_default();
            query = query.bind(job.event_id.as_str()).bind(body);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The event's `eventId`, if the body is a JSON object with one.
pub fn event_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(rename = "eventId", borrow)]
        event_id: std::borrow::Cow<'a, str>,
    }
    std::str::from_utf8(body).ok()?;
    serde_json::from_slice::<Head<'_>>(body)
        .ok()
        .map(|head| head.event_id.into_owned())
}

async fn handle(
    request: Request<Incoming>,
    baseline: Baseline,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (status, body) = if request.method() == Method::POST {
        let body = request.into_body().collect().await?.to_bytes();
        let status = match event_id(&body) {
            Some(id) => {
                if baseline.append(id, body).await {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
            None => StatusCode::BAD_REQUEST,
        };
        (status, Bytes::new())
    } else {
        // Any GET: alive, and what the writer did (for the bench's notes).
        let s = baseline.stats();
        let text = format!(
            "{} batches, {} events, largest {}, {} failed",
            s.batches.load(Ordering::Relaxed),
            s.events.load(Ordering::Relaxed),
            s.largest.load(Ordering::Relaxed),
            s.failed.load(Ordering::Relaxed)
        );
        (StatusCode::OK, Bytes::from(text))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    Ok(response)
}

/// Serves the baseline on `listener` until the process ends.
pub async fn serve(listener: TcpListener, baseline: Baseline) {
    let http = hyper::server::conn::http1::Builder::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let baseline = baseline.clone();
        let connection = http.serve_connection(
            TokioIo::new(stream),
            service_fn(move |request| handle(request, baseline.clone())),
        );
        tokio::spawn(connection);
    }
}

/// When this process was started as the baseline's ([`CHILD_VAR`] set):
/// serves until killed and never returns. Call it first thing in `main`.
pub fn serve_if_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let (addr, url) = spec.split_once(' ').expect("CHILD_VAR is `ADDR URL`");
    let addr: SocketAddr = addr.parse().expect("a socket address");
    // The `kaizala` binary's runtime: multi-threaded, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let baseline = Baseline::open(url).await;
        let listener = TcpListener::bind(addr).await.expect("binding");
        serve(listener, baseline).await;
    });
    std::process::exit(0);
}

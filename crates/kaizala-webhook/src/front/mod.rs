//! The HTTP front: the one accept loop behind the receiver, the dashboard
//! and every other reader.
//!
//! [`serve`] runs any hyper service (a tower service through
//! [`TowerToHyperService`](hyper_util::service::TowerToHyperService)) on a
//! bound listener:
//!
//! - HTTP/1.1, with a time limit on reading a request's headers;
//! - optional TLS ([`TlsConfig`], rustls), the handshake done in the
//!   connection's own task under a time limit, so a slow or broken client
//!   never holds up the accept loop;
//! - a cap on concurrent connections: one over it is answered at once with
//!   `503 Service Unavailable`, `Retry-After` and `Connection: close`
//!   rather than queued, and counted;
//! - [`ConnectionCounters`] (open, accepted, refused, failed handshakes)
//!   for `/metrics`;
//! - graceful shutdown: stop accepting, let requests in flight finish
//!   within a grace period.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper::service::service_fn;
//! use kaizala_webhook::front::{self, FrontConfig};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let hello = service_fn(|_request| async {
//!     Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("hello"))))
//! });
//! let config = FrontConfig::new().max_connections(100);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = front::serve(listener, hello, config);
//! assert!(server.url("/").starts_with("http://127.0.0.1:"));
//!
//! let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await?;
//! stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"));
//! assert_eq!(server.counters().snapshot().accepted, 1);
//! server.shutdown().await;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```

mod connections;
mod refuse;
mod tls;

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

pub use self::connections::{ConnectionCounters, ConnectionSnapshot};
pub use self::tls::{TlsConfig, TlsError};
use crate::{Stoppable, spawn_stoppable};

/// How many connections over the cap are answered at once; beyond that
/// they are closed unanswered, so a flood costs no more than this.
const REFUSING_AT_ONCE: usize = 64;

/// How a front serves: time limits, the connection cap, TLS, and the
/// counters it keeps.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    header_read_timeout: Duration,
    shutdown_grace: Duration,
    max_connections: usize,
    handshake_timeout: Duration,
    tls: Option<TlsConfig>,
    counters: Arc<ConnectionCounters>,
}

impl Default for FrontConfig {
    fn default() -> Self {
        FrontConfig {
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            handshake_timeout: Duration::from_secs(10),
            tls: None,
            counters: Arc::default(),
        }
    }
}

impl FrontConfig {
    /// The default cap on concurrent connections.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

    /// Plain HTTP, at most [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)
    /// connections, 30 s to send a request's headers, 10 s for a TLS
    /// handshake, 30 s of grace at shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a client may take to send a request's headers.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long [`Front::shutdown`] waits for requests in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The most connections served at once (at least 1); more are answered
    /// `503` and closed.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a client may take to complete the TLS handshake.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Serves HTTPS with `tls`.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Counts into `counters` (to read them before the front starts, e.g.
    /// from the service it serves).
    pub fn counters(mut self, counters: Arc<ConnectionCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// The counters the front will keep.
    pub fn connection_counters(&self) -> &Arc<ConnectionCounters> {
        &self.counters
    }

    /// The cap on concurrent connections.
    pub fn connection_cap(&self) -> usize {
        self.max_connections
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// An error a service or a body may give.
type BoxError = Box<dyn StdError + Send + Sync>;

/// What the front serves: a hyper service of `Request<Incoming>`, cheap to
/// clone (one clone per connection), whose futures and bodies can move
/// between threads. Every such service is one; tower services become one
/// through [`TowerToHyperService`](hyper_util::service::TowerToHyperService).
pub trait FrontService:
    hyper::service::Service<
        Request<Incoming>,
        Response = Response<Self::Body>,
        Future: Send + 'static,
        Error: Into<BoxError>,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The responses' body.
    type Body: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static;
}

impl<S, B> FrontService for S
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Body = B;
}

/// Serves `service` on `listener` with `config`, on the current tokio
/// runtime, until [`Front::shutdown`] (or until the [`Front`] is dropped).
pub fn serve<S: FrontService>(listener: TcpListener, service: S, config: FrontConfig) -> Front {
    let addr = listener.local_addr();
    let counters = Arc::clone(&config.counters);
    let tls = config.tls.is_some();
    let task = spawn_stoppable(move |stop| accept_loop(listener, service, config, stop));
    Front {
        addr,
        tls,
        counters,
        task,
    }
}

async fn accept_loop<S: FrontService>(
    listener: TcpListener,
    service: S,
    config: FrontConfig,
    mut stop: watch::Receiver<bool>,
) {
    let config = Arc::new(config);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let http = Arc::new(http);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %err, "http front: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // A stop, or the handle dropped.
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            config.counters.refused();
            if let Ok(refusing) = Arc::clone(&refusals).try_acquire_owned() {
                let config = Arc::clone(&config);
                tokio::spawn(async move {
                    refuse::refuse(stream, &config).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let open = config.counters.accepted();
        let watcher = graceful.watcher();
        let (config, http, service) = (Arc::clone(&config), Arc::clone(&http), service.clone());
        tokio::spawn(async move {
            connection(stream, &config, &http, watcher, service).await;
            drop((slot, open));
        });
    }
    drop(listener);
    let grace = config.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "http front: requests still in flight after the grace period"
        );
    }
}

/// Serves one accepted connection: the TLS handshake first when on.
async fn connection<S: FrontService>(
    stream: TcpStream,
    config: &FrontConfig,
    http: &http1::Builder,
    watcher: Watcher,
    service: S,
) {
    let Some(tls) = &config.tls else {
        return exchange(http, watcher, TokioIo::new(stream), service).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.server));
    match tokio::time::timeout(config.handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => exchange(http, watcher, TokioIo::new(stream), service).await,
        Ok(Err(err)) => {
            config.counters.tls_failed();
            tracing::debug!(error = %err, "http front: TLS handshake failed");
        }
        Err(_) => {
            config.counters.tls_failed();
            tracing::debug!("http front: TLS handshake timed out");
        }
    }
}

/// Requests and responses on one connection until it closes.
async fn exchange<I, S: FrontService>(http: &http1::Builder, watcher: Watcher, io: I, service: S)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    if let Err(err) = watcher.watch(http.serve_connection(io, service)).await {
        tracing::debug!(error = %err, "http front: connection ended");
    }
}

/// A running front. Dropping it stops it too, without waiting;
/// [`shutdown`](Self::shutdown) waits.
#[derive(Debug)]
#[must_use = "dropping a Front stops it"]
pub struct Front {
    addr: io::Result<SocketAddr>,
    tls: bool,
    counters: Arc<ConnectionCounters>,
    task: Stoppable,
}

impl Front {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        *self
            .addr
            .as_ref()
            .expect("a bound TcpListener has a local address")
    }

    /// `http://ADDR{path}` (`https` with TLS), with loopback in place of an
    /// unspecified address (`0.0.0.0`, `[::]`).
    pub fn url(&self, path: &str) -> String {
        let mut addr = self.local_addr();
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{addr}{path}")
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The counters of its connections: open, accepted, refused, failed TLS.
    pub fn counters(&self) -> &Arc<ConnectionCounters> {
        &self.counters
    }

    /// Stops accepting connections and waits (up to the configured grace
    /// period) for the requests in flight to be answered.
    pub async fn shutdown(self) {
        self.task.stop().await;
    }
}

#[cfg(test)]
mod tests;

//! A ready server around [`WebhookService`]: accept loop, HTTP/1.1 with
//! a header read timeout, graceful shutdown that drains requests in flight.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::ReceiverConfig;
use crate::handler::Handlers;
use crate::metrics::Metrics;
use crate::service::WebhookService;
use crate::store::{EventQueue, EventStore};
use crate::{HandlerTask, Stoppable, spawn_stoppable};

/// Serves `config`'s receiver on `listener`, handing events to `store`.
///
/// The listener is already bound, so the receiver answers the platform's
/// validation request as soon as this returns: register the webhook after.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use kaizala_webhook::{MemoryEventStore, ReceiverConfig, serve};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let config = ReceiverConfig::new().callback_token("s3cret").unwrap();
/// let receiver = serve(listener, config, MemoryEventStore::new());
/// println!("register {} as the webhook's callback URL", receiver.url());
/// receiver.shutdown().await;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn serve<S: EventStore>(
    listener: TcpListener,
    config: ReceiverConfig,
    store: S,
) -> Receiver<S> {
    Server::new(config, store).serve_without_handlers(listener)
}

/// A receiver to be started: the service, and optionally handlers.
#[derive(Debug)]
pub struct Server<S> {
    service: WebhookService<S>,
    handlers: Option<Handlers>,
}

impl<S: EventStore> Server<S> {
    /// A receiver handing events to `store`.
    pub fn new(config: ReceiverConfig, store: S) -> Self {
        Self::with_shared_store(config, Arc::new(store))
    }

    /// A receiver handing events to a store the caller keeps a handle to.
    pub fn with_shared_store(config: ReceiverConfig, store: Arc<S>) -> Self {
        Server {
            service: WebhookService::with_shared_store(config, store),
            handlers: None,
        }
    }

    /// Also runs `handlers` on the stored events (after the ack).
    pub fn handlers(mut self, handlers: Handlers) -> Self
    where
        S: EventQueue,
    {
        self.handlers = Some(handlers);
        self
    }

    /// Starts serving on `listener` (on the current tokio runtime).
    pub fn serve(self, listener: TcpListener) -> Receiver<S>
    where
        S: EventQueue,
    {
        let handlers = self
            .handlers
            .filter(|h| !h.is_empty())
            .map(|h| self.service.run_handlers(h));
        start(self.service, listener, handlers)
    }
}

impl<S: EventStore> Server<S> {
    /// Starts serving on `listener`, without handlers (for stores that are
    /// not an [`EventQueue`]).
    pub fn serve_without_handlers(self, listener: TcpListener) -> Receiver<S> {
        start(self.service, listener, None)
    }
}

fn start<S: EventStore>(
    service: WebhookService<S>,
    listener: TcpListener,
    handlers: Option<HandlerTask>,
) -> Receiver<S> {
    let addr = listener.local_addr();
    let accept = {
        let service = service.clone();
        spawn_stoppable(move |stop| accept_loop(listener, service, stop))
    };
    Receiver {
        addr,
        service,
        accept,
        handlers,
    }
}

async fn accept_loop<S: EventStore>(
    listener: TcpListener,
    service: WebhookService<S>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(service.config().read_timeout);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %err, "webhook receiver: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "webhook receiver: connection ended");
            }
        });
    }
    drop(listener);
    let grace = service.config().shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "webhook receiver: requests still in flight after the grace period"
        );
    }
}

/// A running receiver. Dropping it stops it too, without waiting;
/// [`shutdown`](Self::shutdown) waits.
#[derive(Debug)]
#[must_use = "dropping a Receiver stops it"]
pub struct Receiver<S> {
    addr: io::Result<SocketAddr>,
    service: WebhookService<S>,
    accept: Stoppable,
    handlers: Option<HandlerTask>,
}

impl<S: EventStore> Receiver<S> {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        *self
            .addr
            .as_ref()
            .expect("a bound TcpListener has a local address")
    }

    /// The callback URL on this machine: `http://ADDR/PATH`, with loopback
    /// in place of an unspecified address (`0.0.0.0`, `[::]`).
    pub fn url(&self) -> String {
        let mut addr = self.local_addr();
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{addr}{}", self.service.config().path_str())
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        self.service.config()
    }

    /// The service (for its dead letters and replay).
    pub fn service(&self) -> &WebhookService<S> {
        &self.service
    }

    /// The receiver's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.service.metrics()
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        self.service.store()
    }

    /// Stops accepting connections, waits (up to the configured grace
    /// period) for requests in flight to be answered, then stops the
    /// handlers after the events in hand.
    pub async fn shutdown(self) {
        self.accept.stop().await;
        if let Some(handlers) = self.handlers {
            handlers.stop().await;
        }
    }
}

//! A ready server around [`WebhookService`], on the [front](crate::front):
//! HTTP/1.1 with a header read timeout, optional TLS, a connection cap,
//! graceful shutdown that drains requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::HandlerTask;
use crate::config::ReceiverConfig;
use crate::front::{self, ConnectionCounters, Front, FrontConfig};
use crate::handler::Handlers;
use crate::metrics::Metrics;
use crate::service::WebhookService;
use crate::store::{EventQueue, EventStore};

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

/// A receiver to be started: the service, optionally handlers, and how
/// its [front](crate::front) serves.
#[derive(Debug)]
pub struct Server<S> {
    service: WebhookService<S>,
    handlers: Option<Handlers>,
    front: Option<FrontConfig>,
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
            front: None,
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

    /// Serves through a front configured so (TLS, the connection cap…).
    /// Without it, a plain HTTP front with the receiver configuration's
    /// read timeout and shutdown grace.
    pub fn front(mut self, front: FrontConfig) -> Self {
        self.front = Some(front);
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
        start(self.service, listener, self.front, handlers)
    }
}

impl<S: EventStore> Server<S> {
    /// Starts serving on `listener`, without handlers (for stores that are
    /// not an [`EventQueue`]).
    pub fn serve_without_handlers(self, listener: TcpListener) -> Receiver<S> {
        start(self.service, listener, self.front, None)
    }
}

fn start<S: EventStore>(
    service: WebhookService<S>,
    listener: TcpListener,
    front: Option<FrontConfig>,
    handlers: Option<HandlerTask>,
) -> Receiver<S> {
    let front = front.unwrap_or_else(|| service.config().front_config());
    let front = front::serve(listener, TowerToHyperService::new(service.clone()), front);
    Receiver {
        front,
        service,
        handlers,
    }
}

/// A running receiver. Dropping it stops it too, without waiting;
/// [`shutdown`](Self::shutdown) waits.
#[derive(Debug)]
#[must_use = "dropping a Receiver stops it"]
pub struct Receiver<S> {
    front: Front,
    service: WebhookService<S>,
    handlers: Option<HandlerTask>,
}

impl<S: EventStore> Receiver<S> {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.front.local_addr()
    }

    /// The callback URL on this machine: `http://ADDR/PATH` (`https` with
    /// TLS), with loopback in place of an unspecified address (`0.0.0.0`,
    /// `[::]`).
    pub fn url(&self) -> String {
        self.front.url(self.service.config().path_str())
    }

    /// The front's connection counters.
    pub fn connections(&self) -> &Arc<ConnectionCounters> {
        self.front.counters()
    }

    /// The configuration it was started with.
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

    /// The store the received events go to.
    pub fn store(&self) -> &Arc<S> {
        self.service.store()
    }

    /// Stops accepting connections, waits (up to the configured grace
    /// period) for requests in flight to be answered, then stops the
    /// handlers after the events in hand.
    pub async fn shutdown(self) {
        self.front.shutdown().await;
        if let Some(handlers) = self.handlers {
            handlers.stop().await;
        }
    }
}

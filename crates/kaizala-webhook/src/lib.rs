//! The webhook receiver for the Kaizala Connectors platform: the PUSH half.
//!
//! The platform POSTs an event to a subscribed URL when something happens
//! in a group, retries with backoff when the answer is not 2xx, and
//! disables the webhook after six failed retries. This receiver:
//!
//! - answers the **validation** GET (`?validationToken=X` → `X`) in
//!   microseconds, touching no storage;
//! - **authenticates** each POST by its `kz-callback-token` header in
//!   constant time (two tokens during a rotation), and optionally its
//!   `context`;
//! - **limits** body size (413 before reading an oversized body), read time
//!   and JSON nesting;
//! - **hands off durably**: 2xx only after the [`EventStore`] has stored the
//!   event; 503 if it could not, so the platform retries; duplicates
//!   (same `eventId`) stored once and acknowledged; authentic bodies that
//!   are not events kept in **quarantine** and acknowledged, so nothing is
//!   lost and the webhook is not disabled over them;
//! - runs **handlers after the ack**, from the store, retried with backoff
//!   and dead-lettered (list and replay through the [`EventQueue`]);
//! - counts everything ([`Metrics`], also as Prometheus text);
//! - serves it through [`front`], the one HTTP front (TLS, a connection
//!   cap, graceful shutdown) that the `kaizala` command's readers use too.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use kaizala_types::event::Event;
//! use kaizala_webhook::{Handlers, MemoryEventStore, ReceiverConfig, Server};
//!
//! let config = ReceiverConfig::new().callback_token("s3cret")?;
//! let handlers = Handlers::new().on_any(|event: Arc<Event>| async move {
//!     println!("{} {}", event.event_type(), event.event_id());
//!     Ok(())
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let receiver = Server::new(config, MemoryEventStore::new())
//!     .handlers(handlers)
//!     .serve(listener);
//!
//! // The platform (here: a plain HTTP client) posts an event.
//! let mut stream = tokio::net::TcpStream::connect(receiver.local_addr()).await?;
//! let body = r#"{"eventId": "e1", "eventType": "TextMessageCreated", "data": {"text": "hi"}}"#;
//! let request = format!(
//!     "POST / HTTP/1.1\r\nhost: x\r\nkz-callback-token: s3cret\r\n\
//!      content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
//!     body.len()
//! );
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! stream.write_all(request.as_bytes()).await?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200"));
//! assert_eq!(receiver.store().len(), 1);
//! assert_eq!(receiver.metrics().snapshot().stored, 1);
//! receiver.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! To register the receiver's URL with the platform (after it listens, so
//! the validation request finds it), use the client's webhook calls, or
//! `kaizala::registration::WebhookRegistration` in the facade.

mod config;
pub mod exposition;
pub mod front;
mod handler;
pub mod metrics;
mod processor;
mod serve;
mod service;
pub mod store;

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ReceiverConfig;
pub use handler::{EventHandler, HandlerError, Handlers, Payload, Typed};
pub use kaizala_core::webhook::{HandlerRetry, TokenConfigError};
pub use metrics::{Metrics, MetricsSnapshot};
pub use serve::{Receiver, Server, serve};
pub use service::WebhookService;
pub use store::{EventQueue, EventStore, MemoryEventStore};

/// A background task that stops when asked.
#[derive(Debug)]
struct Stoppable {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Stoppable {
    async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await
            && err.is_panic()
        {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

fn spawn_stoppable<F, Fut>(work: F) -> Stoppable
where
    F: FnOnce(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = watch::channel(false);
    Stoppable {
        stop,
        task: tokio::spawn(work(stopped)),
    }
}

/// The handlers running on a store's events (see
/// [`WebhookService::run_handlers`]). Dropping it stops them too, once
/// they run out of due events; [`stop`](Self::stop) waits for that.
#[derive(Debug)]
#[must_use = "dropping a HandlerTask stops the handlers"]
pub struct HandlerTask(Stoppable);

impl HandlerTask {
    /// Stops after the events in hand.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

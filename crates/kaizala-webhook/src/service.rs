//! The receiver as a `tower::Service`: validation, authentication, limits,
//! durable hand-off.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use kaizala_core::webhook::{CALLBACK_TOKEN_HEADER, Intook, validation_token};
use tokio::sync::Notify;

use crate::config::ReceiverConfig;
use crate::handler::Handlers;
use crate::metrics::{Counter, Metrics};
use crate::processor::Processor;
use crate::store::{
    DeadLetter, EventQueue, EventStore, IncomingEvent, QuarantinedBody, StoreError, Stored,
};
use crate::{HandlerTask, spawn_stoppable};

/// The webhook receiver as a [`tower_service::Service`].
///
/// It answers on the configured path only (404 elsewhere): `GET
/// ?validationToken=X` with `X`, and event `POST`s with 200 once the event
/// is stored (or quarantined), 401 for a missing or wrong callback token,
/// 413 for a body over the limit, 408 for a body that does not arrive in
/// time, 503 when the store fails — so the platform retries — and 405 for
/// other methods.
///
/// Mount it in axum with `Router::nest_service("/kaizala", service)` (the
/// router strips the prefix, so the default path `/` is the route), or with
/// `Router::route_service("/kaizala", service)` when the config names the
/// same path (`.path("/kaizala")`: `route_service` passes the full path on,
/// and any other answers 404). Wrap it for hyper with
/// `hyper_util::service::TowerToHyperService`, or let [`serve`](crate::serve)
/// run it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http_body_util::{BodyExt, Full};
/// use kaizala_webhook::{MemoryEventStore, ReceiverConfig, WebhookService};
/// use tower::ServiceExt;
///
/// let service = WebhookService::new(ReceiverConfig::new(), MemoryEventStore::new());
/// let request = http::Request::get("/?validationToken=hello")
///     .body(Full::new(bytes::Bytes::new()))
///     .unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
/// # });
/// ```
pub struct WebhookService<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    config: ReceiverConfig,
    store: Arc<S>,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
}

impl<S> Clone for WebhookService<S> {
    fn clone(&self) -> Self {
        WebhookService {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> std::fmt::Debug for WebhookService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<S: EventStore> WebhookService<S> {
    /// A receiver handing events to `store`.
    pub fn new(config: ReceiverConfig, store: S) -> Self {
        Self::with_shared_store(config, Arc::new(store))
    }

    /// A receiver handing events to a store the caller keeps a handle to.
    pub fn with_shared_store(config: ReceiverConfig, store: Arc<S>) -> Self {
        WebhookService {
            shared: Arc::new(Shared {
                config,
                store,
                metrics: Arc::new(Metrics::default()),
                wake: Arc::new(Notify::new()),
            }),
        }
    }

    /// The receiver's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The store the received events go to.
    pub fn store(&self) -> &Arc<S> {
        &self.shared.store
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &ReceiverConfig {
        &self.shared.config
    }

    /// Starts running `handlers` on the stored events, on the current tokio
    /// runtime, until the returned task is stopped.
    pub fn run_handlers(&self, handlers: Handlers) -> HandlerTask
    where
        S: EventQueue,
    {
        let config = &self.shared.config;
        let processor = Processor {
            queue: Arc::clone(&self.shared.store),
            handlers,
            retry: config.handler_retry,
            concurrency: config.handler_concurrency,
            grace: config.shutdown_grace,
            metrics: Arc::clone(&self.shared.metrics),
            wake: Arc::clone(&self.shared.wake),
        };
        HandlerTask(spawn_stoppable(|stop| processor.run(stop)))
    }

    /// The events whose handler kept failing.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>
    where
        S: EventQueue,
    {
        self.shared.store.dead_letters().await
    }

    /// Runs a dead-lettered event's handler again, now (with its attempts
    /// reset). Returns whether there was such an event.
    pub async fn replay(&self, event_id: &str) -> Result<bool, StoreError>
    where
        S: EventQueue,
    {
        let replayed = self.shared.store.replay(event_id).await?;
        if replayed {
            self.shared.wake.notify_one();
        }
        Ok(replayed)
    }
}

impl<S, B> tower_service::Service<Request<B>> for WebhookService<S>
where
    S: EventStore,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { Ok(shared.respond(request).await) })
    }
}

impl<S: EventStore> Shared<S> {
    async fn respond<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = request.uri().path();
        if self.config.metrics_path.as_deref() == Some(path) && request.method() == Method::GET {
            return text(StatusCode::OK, self.metrics.prometheus_text());
        }
        if path != self.config.path {
            return text(StatusCode::NOT_FOUND, "no webhook receiver here");
        }
        match *request.method() {
            Method::GET => validate(request.uri().query()),
            Method::POST => self.receive(request).await,
            _ => {
                let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                response
            }
        }
    }

    async fn receive<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        self.metrics.count(Counter::Received);
        if let Some(tokens) = &self.config.tokens {
            let mut presented = request.headers().get_all(CALLBACK_TOKEN_HEADER).iter();
            let first = presented.next().map(HeaderValue::as_bytes);
            // Two tokens in one request are ambiguous: refuse rather than
            // guess which one the checker should see.
            let repeated = presented.next().is_some();
            if !tokens.verify(first) | repeated {
                return self.refuse();
            }
        }
        let limit = self.config.body_limit;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return closing(text(StatusCode::PAYLOAD_TOO_LARGE, too_large(limit)));
        }
        let reading = Limited::new(request.into_body(), limit).collect();
        let body = match tokio::time::timeout(self.config.read_timeout, reading).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(err)) if err.is::<LengthLimitError>() => {
                return closing(text(StatusCode::PAYLOAD_TOO_LARGE, too_large(limit)));
            }
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "webhook body could not be read");
                return closing(text(StatusCode::BAD_REQUEST, "the body could not be read"));
            }
            Err(_) => {
                return closing(text(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body did not arrive in time",
                ));
            }
        };
        let received_at = SystemTime::now();
        let response = match self.config.intake.take(&body) {
            Intook::Event(head) => {
                let incoming = IncomingEvent {
                    head,
                    body,
                    received_at,
                };
                match self.store.store(&incoming).await {
                    Ok(Stored::New) => {
                        self.metrics.count(Counter::Stored);
                        self.wake.notify_one();
                        ack()
                    }
                    Ok(Stored::Duplicate) => {
                        self.metrics.count(Counter::Duplicate);
                        ack()
                    }
                    Ok(Stored::Quarantined) => {
                        tracing::warn!(
                            event_id = incoming.event_id(),
                            "event quarantined by the store"
                        );
                        self.metrics.count(Counter::Quarantined);
                        ack()
                    }
                    Err(err) => {
                        tracing::error!(event_id = incoming.event_id(), error = %err, "event not stored; answering 503");
                        self.metrics.count(Counter::StoreFailed);
                        unavailable()
                    }
                }
            }
            Intook::Quarantine(reason) => {
                tracing::warn!(reason = %reason, bytes = body.len(), "webhook body quarantined");
                let quarantined = QuarantinedBody {
                    body,
                    reason_code: reason.code(),
                    reason: reason.to_string(),
                    received_at,
                };
                match self.store.quarantine(&quarantined).await {
                    Ok(()) => {
                        self.metrics.count(Counter::Quarantined);
                        ack()
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "body not quarantined; answering 503");
                        self.metrics.count(Counter::StoreFailed);
                        unavailable()
                    }
                }
            }
            Intook::WrongContext => return self.refuse(),
        };
        if response.status().is_success() {
            self.metrics.observe_ack(started.elapsed());
        }
        response
    }

    /// The one answer to every authentication failure, whatever failed.
    fn refuse(&self) -> Response<Full<Bytes>> {
        self.metrics.count(Counter::AuthFailed);
        text(StatusCode::UNAUTHORIZED, "unauthorized")
    }
}

/// The validation handshake: echo the token as plain text.
fn validate(query: Option<&str>) -> Response<Full<Bytes>> {
    match validation_token(query) {
        Ok(token) => text(StatusCode::OK, token),
        Err(err) => text(StatusCode::BAD_REQUEST, err.to_string()),
    }
}

fn ack() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::new()))
}

fn unavailable() -> Response<Full<Bytes>> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the event could not be stored",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

fn too_large(limit: usize) -> String {
    format!("the body is larger than {limit} bytes")
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The body was not (fully) read: the connection cannot be reused.
fn closing(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

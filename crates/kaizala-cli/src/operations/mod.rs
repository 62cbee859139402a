//! The operations routes every HTTP front of the `kaizala` command serves:
//!
//! - `GET /healthz`: `200 ok` while the process is up;
//! - `GET /readyz`: `200 ready` when the database answers a query within
//!   2 s and the projection lag is within `--ready-max-lag`, else `503`
//!   and one line saying why;
//! - `GET /metrics`: the receiver's counters, the event store's, the
//!   projector's, the fronts' connection counters and the projection lag,
//!   in the Prometheus text format.
//!
//! [`Operations::in_front_of`] mounts them before another service (the
//! receiver, the dashboard); [`Operations::alone`] serves only them (the
//! `--metrics-listen` address).

mod metrics;
mod readiness;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use kaizala_sink::{Projector, Sink, SqlEventStore};
use kaizala_webhook::Metrics;
use kaizala_webhook::exposition::{self, Exposition};
use kaizala_webhook::front::{ConnectionCounters, FrontService};

pub use self::readiness::MaxLag;

/// The paths the routes take.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// What the operations routes report on.
#[derive(Debug)]
pub struct Operations {
    sink: Sink,
    max_lag: MaxLag,
    receiver: Option<Arc<Metrics>>,
    store: Option<SqlEventStore>,
    projector: Option<Projector>,
    fronts: Vec<(&'static str, Arc<ConnectionCounters>)>,
}

impl Operations {
    /// Reports on `sink`: ready while its projection lag is within `max_lag`.
    pub fn new(sink: Sink, max_lag: MaxLag) -> Self {
        Operations {
            sink,
            max_lag,
            receiver: None,
            store: None,
            projector: None,
            fronts: Vec::new(),
        }
    }

    /// Also exports the webhook receiver's counters.
    pub fn receiver(mut self, metrics: Arc<Metrics>) -> Self {
        self.receiver = Some(metrics);
        self
    }

    /// Also exports the counters of the event store the receiver appends
    /// with.
    pub fn store(mut self, store: SqlEventStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Also exports the counters of the projector running in this process.
    pub fn projector(mut self, projector: Projector) -> Self {
        self.projector = Some(projector);
        self
    }

    /// Also exports a front's connection counters, labelled `front="NAME"`.
    pub fn front(mut self, name: &'static str, counters: Arc<ConnectionCounters>) -> Self {
        self.fronts.push((name, counters));
        self
    }

    /// The answer to `request` if it is for one of the routes.
    pub async fn respond<B>(&self, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
        let path = request.uri().path();
        if !PATHS.contains(&path) {
            return None;
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n".into());
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return Some(response);
        }
        Some(match path {
            "/healthz" => text(StatusCode::OK, "ok\n".into()),
            "/readyz" => match readiness::check(&self.sink, self.max_lag).await {
                Ok(()) => text(StatusCode::OK, "ready\n".into()),
                Err(why) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {why}\n"),
                ),
            },
            _ => self.metrics().await,
        })
    }

    async fn metrics(&self) -> Response<Full<Bytes>> {
        let mut out = Exposition::new();
        if let Some(receiver) = &self.receiver {
            receiver.encode(&mut out);
        }
        if let Some(store) = &self.store {
            metrics::store(&mut out, &store.stats());
        }
        if let Some(projector) = &self.projector {
            metrics::projector(&mut out, &projector.stats());
        }
        let fronts: Vec<_> = self
            .fronts
            .iter()
            .map(|(name, counters)| (*name, &**counters))
            .collect();
        ConnectionCounters::encode(&mut out, &fronts);
        metrics::database(&mut out, readiness::lag(&self.sink).await.ok());
        let mut response = text(StatusCode::OK, out.finish());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(exposition::CONTENT_TYPE),
        );
        response
    }

    /// The routes before `inner`: a request for one of them is answered
    /// here, any other goes to `inner`.
    pub fn in_front_of<S>(self: Arc<Self>, inner: S) -> impl FrontService
    where
        S: FrontService<Body = Full<Bytes>>,
    {
        service_fn(move |request: Request<Incoming>| {
            let (operations, inner) = (Arc::clone(&self), inner.clone());
            async move {
                match operations.respond(&request).await {
                    Some(response) => Ok(response),
                    None => inner.call(request).await,
                }
            }
        })
    }

    /// The routes alone; `404` for any other path.
    pub fn alone(self: Arc<Self>) -> impl FrontService {
        self.in_front_of(service_fn(|_request: Request<Incoming>| async {
            Ok::<_, Infallible>(text(StatusCode::NOT_FOUND, "not found\n".into()))
        }))
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn ask(operations: &Operations, method: Method, path: &str) -> Option<(u16, String)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        let response = operations.respond(&request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    }

    #[tokio::test]
    async fn health_readiness_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::connect(dir.path().join("o.db").to_str().unwrap())
            .await
            .unwrap();
        let counters = Arc::new(ConnectionCounters::default());
        let operations = Operations::new(sink.clone(), MaxLag::Entries(0))
            .receiver(Arc::new(Metrics::default()))
            .projector(sink.projector())
            .front("test", counters);
        assert_eq!(ask(&operations, Method::GET, "/").await, None);
        assert_eq!(
            ask(&operations, Method::GET, "/healthz").await,
            Some((200, "ok\n".into()))
        );
        assert_eq!(
            ask(&operations, Method::GET, "/readyz").await,
            Some((200, "ready\n".into()))
        );
        let (status, metrics) = ask(&operations, Method::GET, "/metrics").await.unwrap();
        assert_eq!(status, 200);
        for line in [
            "kaizala_webhook_received_total 0\n",
            "kaizala_projector_entries_total 0\n",
            "kaizala_front_connections_open{front=\"test\"} 0\n",
            "kaizala_database_up 1\n",
            "kaizala_projection_lag_entries 0\n",
        ] {
            assert!(metrics.contains(line), "{line} in:\n{metrics}");
        }
        assert_eq!(
            ask(&operations, Method::POST, "/healthz").await.unwrap().0,
            405
        );

        sink.close().await;
        let (status, why) = ask(&operations, Method::GET, "/readyz").await.unwrap();
        assert_eq!(status, 503);
        assert!(why.starts_with("not ready: database: "), "{why}");
        assert_eq!(why.lines().count(), 1, "{why}");
        let (_, metrics) = ask(&operations, Method::GET, "/metrics").await.unwrap();
        assert!(metrics.contains("kaizala_database_up 0\n"), "{metrics}");
    }
}

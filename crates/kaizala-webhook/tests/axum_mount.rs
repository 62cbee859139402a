//! The receiver mounted in an axum `Router`, the two ways users do it.
//!
//! `route_service` hands the service the full path, so the receiver's
//! `path` must name the route; `nest_service` strips its prefix, so the
//! default path (`/`) is the route. Both forms are the documented ones
//! (docs/webhook.md, `WebhookService`'s doc); the route_service form
//! without `.path` answering 404 is pinned here so the docs' warning stays
//! true.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use kaizala_webhook::{MemoryEventStore, ReceiverConfig, WebhookService};
use support::{TOKEN, config, text_event};
use tower::ServiceExt;

/// What `router` answers to `request`: the status and the body.
async fn answer(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn validation(path: &str) -> Request<Body> {
    Request::get(format!("{path}?validationToken=mount-check"))
        .body(Body::empty())
        .unwrap()
}

fn delivery(path: &str, event_id: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header("kz-callback-token", TOKEN)
        .body(Body::from(text_event(event_id, "hello")))
        .unwrap()
}

/// Validation answered and one event stored through `router` at `path`.
async fn receives(router: &Router, store: &MemoryEventStore, path: &str) {
    assert_eq!(
        answer(router, validation(path)).await,
        (StatusCode::OK, "mount-check".to_owned()),
        "validation at {path}"
    );
    let before = store.len();
    let (status, body) = answer(router, delivery(path, &format!("e-{path}"))).await;
    assert_eq!(status, StatusCode::OK, "delivery at {path}: {body}");
    assert_eq!(store.len(), before + 1, "stored at {path}");
}

#[tokio::test]
async fn route_service_with_the_route_as_the_receivers_path() {
    let store = Arc::new(MemoryEventStore::new());
    let service = WebhookService::with_shared_store(config().path("/kaizala"), Arc::clone(&store));
    let router = Router::new().route_service("/kaizala", service);
    receives(&router, &store, "/kaizala").await;
}

#[tokio::test]
async fn route_service_without_the_path_answers_404() {
    let store = Arc::new(MemoryEventStore::new());
    let service = WebhookService::with_shared_store(config(), Arc::clone(&store));
    let router = Router::new().route_service("/kaizala", service);
    let (status, _) = answer(&router, delivery("/kaizala", "e-1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(store.len(), 0);
}

#[tokio::test]
async fn nest_service_with_the_default_path() {
    let store = Arc::new(MemoryEventStore::new());
    let service = WebhookService::with_shared_store(config(), Arc::clone(&store));
    let router = Router::new()
        .nest_service("/kaizala", service)
        .route_service(
            "/other",
            tower::service_fn(|_: Request<Body>| async {
                Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::from(
                    "other",
                )))
            }),
        );
    receives(&router, &store, "/kaizala").await;
    assert_eq!(
        answer(&router, validation("/other")).await,
        (StatusCode::OK, "other".to_owned())
    );
}

#[tokio::test]
async fn a_receiver_config_is_accepted_as_is_by_either_form() {
    // The receiver's own 404 for a path it does not serve is the same
    // under a router: an event to a sub-path of the nest is not stored.
    let store = Arc::new(MemoryEventStore::new());
    let service = WebhookService::with_shared_store(ReceiverConfig::new(), Arc::clone(&store));
    let router = Router::new().nest_service("/kaizala", service);
    let (status, _) = answer(&router, delivery("/kaizala/elsewhere", "e-2")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(store.len(), 0);
}

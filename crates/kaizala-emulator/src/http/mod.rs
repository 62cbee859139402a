//! The HTTP side: one hyper server for the three hosts and the admin API.

mod call;
pub mod guard;
mod reply;
mod route;

pub use call::Call;
pub use reply::{ApiError, Reply};
pub use route::{Route, route};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use kaizala_core::endpoint::{Operation, Server};
use kaizala_core::throttle::Permit;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, Ctx};
use crate::shared::Shared;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Serves connections until `shutdown` turns true, then lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let service = service_fn(move |request| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(shared, peer, request).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}

/// Answers one request as the server does, from `peer`: the body limit,
/// routing, the admin API, authentication, throttling and the operation.
/// The server calls it for every request; tests and the fuzz target call it
/// without a socket.
pub async fn handle<B>(
    shared: Arc<Shared>,
    peer: SocketAddr,
    request: Request<B>,
) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let limit = shared.config.body_limit;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return respond(ApiError::too_large(limit).into(), None, &shared);
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return respond(ApiError::too_large(limit).into(), None, &shared);
        }
        Err(_) => {
            return respond(
                ApiError::bad_request("the request body could not be read").into(),
                None,
                &shared,
            );
        }
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    match route(&parts.method, parts.uri.path()) {
        Route::Admin(path) if shared.config.admin => {
            let reply = crate::admin::handle(&shared, &parts.method, &path, &query, &body).await;
            respond(reply, None, &shared)
        }
        Route::Admin(_) | Route::NotFound => respond(
            ApiError::not_found(format!("nothing at {}", parts.uri.path())).into(),
            None,
            &shared,
        ),
        Route::WrongMethod(allowed) => {
            respond(ApiError::method_not_allowed(&allowed).into(), None, &shared)
        }
        Route::Api { op, params, tenant } => {
            let call = Call {
                op,
                params,
                query,
                headers: parts.headers,
                body,
                peer: peer.ip(),
                tenant,
            };
            let (reply, permit) = match op.meta().server {
                Server::Endpoint => endpoint_call(&shared, &call).await,
                _ => token_call(&shared, &call),
            };
            respond(reply, permit, &shared)
        }
    }
}

/// A call on a tenant's endpoint: relocation, token, allow-list, budget,
/// scope, then the operation.
async fn endpoint_call(shared: &Shared, call: &Call) -> (Reply, Option<Permit>) {
    let slug = call.tenant.as_deref().unwrap_or_default();
    let checked = shared.store.read(|state| {
        let tenant = state
            .tenant_by_slug(slug)
            .ok_or_else(|| ApiError::not_found(format!("no tenant endpoint {slug}")))?;
        if tenant.slug != slug {
            return Err(ApiError::moved(&format!(
                "{}/",
                shared.endpoint_url(&tenant.slug)
            )));
        }
        guard::authenticate(shared, state, call)
    });
    let grant = match checked {
        Ok(grant) => grant,
        Err(err) => return (err.into(), None),
    };
    let permit = match guard::throttle(shared, &grant.app_id, &grant.tenant) {
        Ok(permit) => permit,
        Err(err) => return (err.into(), None),
    };
    if let Err(err) = guard::authorize(call, &grant) {
        return (err.into(), Some(permit));
    }
    let result = if call.op == Operation::CreateWebhook {
        api::webhooks::create(shared, &grant, &call.body).await
    } else {
        let now_ms = shared.now_ms();
        let mut ctx = Ctx {
            shared,
            call,
            grant: &grant,
            now_ms,
            happenings: Vec::new(),
        };
        let result = shared.store.write(|state| api::dispatch(&mut ctx, state));
        crate::delivery::publish(shared, std::mem::take(&mut ctx.happenings));
        result
    };
    (result.unwrap_or_else(Reply::from), Some(permit))
}

/// A token call on the API or OAuth host. Token calls take no slot of the
/// call budgets: clients cannot pace them (they come before the tenant is
/// known) and they are rare (one a day per connector).
fn token_call(shared: &Shared, call: &Call) -> (Reply, Option<Permit>) {
    let result = shared
        .store
        .write(|state| api::auth::handle(shared, state, call));
    (result.unwrap_or_else(Reply::from), None)
}

fn respond(reply: Reply, permit: Option<Permit>, shared: &Shared) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    if reply.status != StatusCode::FOUND || !reply.content_type.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    }
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    // Every answer states the budget (Braze-style); an answer that took no
    // slot (a token call, or refused before) reports the connector budget
    // unused, a 429 reports it spent. Reset is wall-clock epoch seconds,
    // rounded up, because that is the clock clients compare it with — the
    // budgets run on real time whatever the virtual clock does.
    let budget = shared.throttle.config().connector;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let reset_at = |after: Duration| (now + after).as_secs_f64().ceil() as u64;
    let (limit, remaining, reset) = match permit {
        Some(p) => (p.limit, p.remaining, reset_at(p.reset_after)),
        None if reply.status == StatusCode::TOO_MANY_REQUESTS => {
            let wait = headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            (budget.calls, 0, reset_at(Duration::from_secs(wait)))
        }
        None => (budget.calls, budget.calls, reset_at(budget.per)),
    };
    headers.insert(LIMIT, HeaderValue::from(limit));
    headers.insert(REMAINING, HeaderValue::from(remaining));
    headers.insert(RESET, HeaderValue::from(reset));
    response
}

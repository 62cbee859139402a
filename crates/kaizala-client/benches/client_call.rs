//! The client's time per call against a local server, next to a bare
//! hyper client doing the same HTTP exchange with the same server in the
//! same run: what the client adds on top of hyper (session lookup, throttle
//! bookkeeping, request building, retry decision, typed decode).
//!
//! The server, started inside the benchmark on 127.0.0.1 (hyper, HTTP/1.1,
//! keep-alive), answers `GET /v1/accessToken` with a token whose
//! `endpointUrl` is itself, and `GET /v1/groups` with the groups.md sample.
//!
//! - `kaizala_client`: `client.groups().list()`, with the token obtained once
//!   before measuring and a throttle budget so large that the client's own
//!   100 calls a minute never make it wait;
//! - `bare_hyper`: a `hyper_util` legacy client (HTTP/1.1, keep-alive,
//!   `HttpConnector`, `Full<Bytes>` body) sending the same GET with the same
//!   headers, reading the whole body into `Bytes` and decoding it with
//!   `serde_json::from_slice::<serde_json::Value>`, so both sides do one
//!   HTTP exchange and one JSON decode.
//!
//! Both run on one multi-threaded tokio runtime, the server's too, and make
//! their calls from a task spawned on it, as an application would; each
//! batch of calls is timed inside that task (criterion's `iter_custom`), so
//! handing work between the benchmark thread and the runtime stays off the
//! clock. (Driving each call with `block_on` from the benchmark thread
//! instead measured ±30% from run to run on a 2-core machine.)
//!
//! Target: the client takes at most 1.2× the bare client's time per call
//! (speed ratio ≥ 0.83). Run with `cargo xtask bench`, which prints the
//! table and the verdict; or `cargo bench -p kaizala-client --bench client_call`.

use std::convert::Infallible;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kaizala_client::Client;
use kaizala_core::session::Credentials;
use kaizala_core::throttle::{Budget, ThrottleConfig};
use tokio::net::TcpListener;

/// The groups.md sample answer of `GET /groups`.
const GROUPS: &str =
    include_str!("../../kaizala-types/tests/fixtures/GroupList--groups-get-response.json");
const ACCESS_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bench-access-token";
/// What the client sends besides the token (kaizala-core's request builder).
const USER_AGENT: &str = concat!("kaizala-rs/", env!("CARGO_PKG_VERSION"));

/// Starts the server on `runtime`; returns its address.
fn start_server(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    let expiry =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(86_400);
    let token = Bytes::from(
        serde_json::json!({
            "accessToken": ACCESS_TOKEN,
            "endpointUrl": format!("http://{addr}/"),
            "accessTokenExpiry": expiry.as_millis() as u64,
            "scope": "groupinfo.read"
        })
        .to_string(),
    );
    runtime.spawn(async move {
        {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let token = token.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let token = token.clone();
                        async move { Ok::<_, Infallible>(answer(&request, token)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    });
    addr
}

fn answer(request: &Request<Incoming>, token: Bytes) -> Response<Full<Bytes>> {
    let authorised = request
        .headers()
        .get("accessToken")
        .is_some_and(|t| t == ACCESS_TOKEN);
    let (status, body) = match request.uri().path() {
        "/v1/accessToken" => (StatusCode::OK, token),
        "/v1/groups" if authorised => (StatusCode::OK, Bytes::from_static(GROUPS.as_bytes())),
        "/v1/groups" => (StatusCode::UNAUTHORIZED, Bytes::from_static(b"{}")),
        _ => (StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The bare client's call: one GET, the whole body, one JSON decode.
async fn bare_call(
    client: &HyperClient<HttpConnector, Full<Bytes>>,
    uri: &http::Uri,
) -> serde_json::Value {
    let request = Request::get(uri.clone())
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, USER_AGENT)
        .header("accessToken", ACCESS_TOKEN)
        .body(Full::new(Bytes::new()))
        .expect("a valid request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    serde_json::from_slice::<serde_json::Value>(&body).expect("JSON")
}

fn client_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let addr = start_server(&runtime);

    // Far beyond any rate this machine reaches: the budgets never make a call wait.
    let unlimited = Budget {
        calls: u32::MAX,
        per: Duration::from_secs(1),
    };
    let client = Client::builder()
        .credentials(Credentials::new(
            "bench-connector",
            "bench-secret",
            "bench-refresh",
        ))
        .base_url(&format!("http://{addr}/v1"))
        .throttle(ThrottleConfig {
            connector: unlimited,
            tenant: unlimited,
        })
        .build()
        .expect("a client");
    // The token (and a pooled connection) before measuring.
    let groups = runtime
        .block_on(client.groups().list())
        .expect("the first call");
    assert_eq!(groups.len(), 1);

    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let bare: HyperClient<HttpConnector, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build(http);
    let uri: http::Uri = format!("http://{addr}/v1/groups").parse().expect("a URI");
    let first = runtime.block_on(bare_call(&bare, &uri));
    assert_eq!(first["groups"][0]["groupName"], "Sample group name");

    let mut group = c.benchmark_group("client_call");
    group.throughput(Throughput::Elements(1));
    group.bench_function("kaizala_client", |b| {
        b.iter_custom(|iters| {
            let client = client.clone();
            runtime.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(client.groups().list().await.expect("groups"));
                    }
                    start.elapsed()
                })
                .await
                .expect("the timed task")
            })
        })
    });
    group.bench_function("bare_hyper", |b| {
        b.iter_custom(|iters| {
            let (bare, uri) = (bare.clone(), uri.clone());
            runtime.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(bare_call(&bare, &uri).await);
                    }
                    start.elapsed()
                })
                .await
                .expect("the timed task")
            })
        })
    });
    group.finish();
}

criterion_group!(benches, client_call);
criterion_main!(benches);

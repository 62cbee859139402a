//! Requests per second the emulator serves for `GET /groups` (token check,
//! throttle bookkeeping, scope, the groups the token reaches, JSON), as a
//! ratio to a minimal hyper server answering the same bytes from memory,
//! both driven by the same bare keep-alive client in the same run.
//! Target: the emulator serves at least half as many (ratio ≥ 0.5).
//!
//! Run with `cargo xtask bench`.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kaizala_core::throttle::{Budget, ThrottleConfig};
use kaizala_emulator::{Emulator, EmulatorConfig};
use tokio::net::TcpListener;

type Bare = Client<HttpConnector, Full<Bytes>>;

async fn get(client: &Bare, url: &str, token: &str) -> usize {
    let request = http::Request::get(url)
        .header("accessToken", token)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len()
}

/// A server that answers every request with `body`, as fast as hyper goes.
async fn minimal(body: Bytes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| {
                    let body = body.clone();
                    async move {
                        let mut response = http::Response::new(Full::new(body));
                        response
                            .headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/groups")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let budget = Budget {
        calls: u32::MAX,
        per: Duration::from_secs(1),
    };
    let (emulator, token, url) = runtime.block_on(async {
        let emulator = Emulator::start(EmulatorConfig {
            throttle: ThrottleConfig {
                connector: budget,
                tenant: budget,
            },
            ..Default::default()
        })
        .await
        .unwrap();
        let seeded = emulator.credentials().unwrap();
        let client = kaizala_client::Client::builder()
            .credentials(seeded.to_credentials())
            .base_url(&seeded.base_url)
            .build()
            .unwrap();
        let session = client.auth().refresh().await.unwrap();
        let url = format!("{}/v1/groups", session.endpoint_url);
        (emulator, session.access_token.expose().to_owned(), url)
    });
    let bare: Bare = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    // The minimal server answers exactly what the emulator answers.
    let body = runtime.block_on(async {
        let request = http::Request::get(&url)
            .header("accessToken", &token)
            .body(Full::new(Bytes::new()))
            .unwrap();
        bare.request(request)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
    });
    let minimal_url = runtime.block_on(minimal(body));

    let mut group = c.benchmark_group("emulator_groups");
    group.throughput(Throughput::Elements(1));
    for (name, target) in [("emulator", url.clone()), ("minimal_hyper", minimal_url)] {
        let (bare, token) = (bare.clone(), token.clone());
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let (bare, token, target) = (bare.clone(), token.clone(), target.clone());
                async move {
                    // Timed inside the runtime: see the client bench for why.
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iterations {
                            std::hint::black_box(get(&bare, &target, &token).await);
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                }
            })
        });
    }
    group.finish();
    drop(emulator);
}

criterion_group!(benches, bench);
criterion_main!(benches);

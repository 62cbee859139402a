//! A scripted HTTP server on 127.0.0.1 for the client's tests. Each test
//! declares the requests it expects and the answers to give; any request
//! that was not expected, or that differs in a header or its body, is
//! answered `599` and reported by [`MockServer::verify`], which also fails
//! if an expected request never came.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;

/// What a request must carry to match.
#[derive(Debug, Clone)]
pub enum BodyMatch {
    /// No body at all.
    Empty,
    /// JSON equal to this value.
    Json(Value),
    /// Exactly these bytes.
    Exact(Vec<u8>),
    /// Bytes containing each of these fragments.
    Contains(Vec<Vec<u8>>),
    /// Anything.
    Any,
}

/// One expected request and its scripted answer.
#[derive(Debug, Clone)]
pub struct Expect {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    absent_headers: Vec<String>,
    body: BodyMatch,
    status: u16,
    response_headers: Vec<(String, String)>,
    response_body: Vec<u8>,
    times: usize,
    delay: Option<Duration>,
}

impl Expect {
    /// `method path` (the path with its query string, exactly).
    pub fn new(method: &str, path: &str) -> Self {
        Expect {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            absent_headers: Vec::new(),
            body: BodyMatch::Empty,
            status: 200,
            response_headers: Vec::new(),
            response_body: b"{}".to_vec(),
            times: 1,
            delay: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }
    pub fn put(path: &str) -> Self {
        Self::new("PUT", path)
    }
    pub fn delete(path: &str) -> Self {
        Self::new("DELETE", path)
    }

    /// The request must carry `name: value`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The request must not carry `name`.
    pub fn no_header(mut self, name: &str) -> Self {
        self.absent_headers.push(name.to_ascii_lowercase());
        self
    }

    /// The request body must be this JSON (and typed `application/json`).
    pub fn json(mut self, body: Value) -> Self {
        self.body = BodyMatch::Json(body);
        self.header("content-type", "application/json")
    }

    /// The request body must match.
    pub fn body(mut self, body: BodyMatch) -> Self {
        self.body = body;
        self
    }

    /// Answer with `status` and this JSON.
    pub fn respond(mut self, status: u16, body: Value) -> Self {
        self.status = status;
        self.response_body = serde_json::to_vec(&body).unwrap();
        self.response_headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
        self
    }

    /// Answer with `status` and these raw bytes.
    pub fn respond_raw(mut self, status: u16, body: &[u8]) -> Self {
        self.status = status;
        self.response_body = body.to_vec();
        self
    }

    /// Add a header to the answer.
    pub fn respond_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// May match this many requests (default 1).
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    /// Wait before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct State {
    expectations: Vec<Expect>,
    received: Vec<Received>,
    problems: Vec<String>,
}

/// The server. Dropping it stops accepting connections.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl MockServer {
    pub async fn start() -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        MockServer {
            addr,
            state,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Expects a request.
    pub fn expect(&self, expectation: Expect) {
        self.state.lock().unwrap().expectations.push(expectation);
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many requests for `method path` arrived.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// Panics listing unexpected or mismatched requests and expectations
    /// that were never met.
    pub fn verify(&self) {
        let state = self.state.lock().unwrap();
        let mut problems = state.problems.clone();
        for left in state.expectations.iter().filter(|e| e.times > 0) {
            problems.push(format!(
                "expected {} {} ({} more time(s)), never came",
                left.method, left.path, left.times
            ));
        }
        assert!(
            problems.is_empty(),
            "mock server:\n  {}",
            problems.join("\n  ")
        );
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/".to_owned(), |p| p.to_string());
    let method = parts.method.to_string();
    let received = Received {
        method: method.clone(),
        path: path.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    };

    let answer = {
        let mut state = state.lock().unwrap();
        state.received.push(received.clone());
        let found = state
            .expectations
            .iter()
            .position(|e| e.times > 0 && e.method == method && e.path == path);
        match found {
            None => {
                state
                    .problems
                    .push(format!("unexpected request {method} {path}"));
                None
            }
            Some(index) => {
                let expectation = state.expectations[index].clone();
                match mismatch(&expectation, &received) {
                    Some(problem) => {
                        state.problems.push(format!("{method} {path}: {problem}"));
                        None
                    }
                    None => {
                        state.expectations[index].times -= 1;
                        Some(expectation)
                    }
                }
            }
        }
    };
    let Some(expectation) = answer else {
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"unexpected request (see MockServer::verify)",
        )));
        *response.status_mut() = StatusCode::from_u16(599).unwrap();
        return Ok(response);
    };
    if let Some(delay) = expectation.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::new(Full::new(Bytes::from(expectation.response_body)));
    *response.status_mut() = StatusCode::from_u16(expectation.status).unwrap();
    for (name, value) in expectation.response_headers {
        response.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(&value).unwrap(),
        );
    }
    Ok(response)
}

fn mismatch(expectation: &Expect, received: &Received) -> Option<String> {
    for (name, value) in &expectation.headers {
        match received.headers.get(name).and_then(|v| v.to_str().ok()) {
            Some(actual) if actual == value => {}
            Some(actual) => {
                return Some(format!("header {name} is {actual:?}, expected {value:?}"));
            }
            None => return Some(format!("header {name} missing (expected {value:?})")),
        }
    }
    for name in &expectation.absent_headers {
        if received.headers.contains_key(name) {
            return Some(format!("header {name} must not be sent"));
        }
    }
    match &expectation.body {
        BodyMatch::Any => None,
        BodyMatch::Empty if received.body.is_empty() => None,
        BodyMatch::Empty => Some(format!(
            "expected no body, got {:?}",
            String::from_utf8_lossy(&received.body)
        )),
        BodyMatch::Exact(bytes) if received.body.as_ref() == bytes.as_slice() => None,
        BodyMatch::Exact(_) => Some(format!(
            "body differs: {:?}",
            String::from_utf8_lossy(&received.body)
        )),
        BodyMatch::Contains(fragments) => fragments
            .iter()
            .find(|f| !received.body.windows(f.len()).any(|w| w == f.as_slice()))
            .map(|f| format!("body lacks {:?}", String::from_utf8_lossy(f))),
        BodyMatch::Json(expected) => match serde_json::from_slice::<Value>(&received.body) {
            Ok(actual) if &actual == expected => None,
            Ok(actual) => Some(format!("JSON body is {actual}, expected {expected}")),
            Err(_) => Some(format!(
                "body is not JSON: {:?}",
                String::from_utf8_lossy(&received.body)
            )),
        },
    }
}

/// Epoch milliseconds `secs` seconds from now.
pub fn in_secs(secs: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now + Duration::from_secs(secs)).as_millis() as u64
}

/// The test connector's credentials.
pub const APP_ID: &str = "test-connector";
pub const APP_SECRET: &str = "test-secret";
pub const REFRESH: &str = "refresh-1";

/// The token call the client makes first, answered with `token` valid for a day
/// and the server itself as the tenant's endpoint.
pub fn token_call(server: &MockServer, token: &str) -> Expect {
    Expect::get("/v1/accessToken")
        .header("applicationId", APP_ID)
        .header("applicationSecret", APP_SECRET)
        .header("refreshToken", REFRESH)
        .no_header("accessToken")
        .respond(
            200,
            serde_json::json!({
                "accessToken": token,
                "endpointUrl": format!("{}/", server.url()),
                "accessTokenExpiry": in_secs(86_400),
                "refreshToken": null,
                "scope": "groupinfo.read,groupinfo.write,groupinfo.remove,groupinfo.update,groupmember.read,groupmember.write,groupmember.remove,textmessage.write,action.read,action.write,media.write,webhook.read,webhook.write,webhook.remove,webhook.update,reactions.read,reactions.write"
            }),
        )
}

/// A client for the server, with quick retries.
pub fn client(server: &MockServer) -> kaizala_client::ClientBuilder {
    kaizala_client::Client::builder()
        .credentials(kaizala_core::session::Credentials::new(
            APP_ID, APP_SECRET, REFRESH,
        ))
        .base_url(&format!("{}/v1", server.url()))
        .retry_policy(kaizala_core::retry::RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        })
}

//! A real webhook receiver on 127.0.0.1 whose behaviour each test scripts:
//! how fast and what it answers to the validation GET, which statuses it
//! answers event POSTs with, and what it received.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the receiver does.
#[derive(Debug, Clone)]
pub struct Script {
    /// Wait this long before answering a validation GET.
    pub validation_delay: Duration,
    /// Echo the validation token (or answer something else).
    pub echo: bool,
    /// Statuses for successive event POSTs (then 200).
    pub statuses: VecDeque<u16>,
    /// Answer every POST with this status instead.
    pub always: Option<u16>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            validation_delay: Duration::ZERO,
            echo: true,
            statuses: VecDeque::new(),
            always: None,
        }
    }
}

/// An event POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Script>>,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub validations: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Drop for Receiver {
    /// Gone for good: kept-alive connections close too, so the next
    /// delivery meets a refused connection.
    fn drop(&mut self) {
        self.task.abort();
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

impl Receiver {
    pub async fn start(script: Script) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(script));
        let received = Arc::new(Mutex::new(Vec::new()));
        let validations = Arc::new(Mutex::new(0));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (s, r, v, c) = (
            script.clone(),
            received.clone(),
            validations.clone(),
            connections.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (s, r, v) = (s.clone(), r.clone(), v.clone());
                let connection = tokio::spawn(async move {
                    let service =
                        service_fn(move |request| answer(s.clone(), r.clone(), v.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                c.lock().unwrap().push(connection.abort_handle());
            }
        });
        Receiver {
            addr,
            script,
            received,
            validations,
            task,
            connections,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/kaizala", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<kaizala_types::event::Event> {
        self.received()
            .iter()
            .map(|r| kaizala_types::event::Event::from_slice(&r.body).expect("a valid event"))
            .collect()
    }

    /// Waits until `count` POSTs arrived (or panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} deliveries arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    script: Arc<Mutex<Script>>,
    received: Arc<Mutex<Vec<Received>>>,
    validations: Arc<Mutex<usize>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if parts.method == http::Method::GET {
        *validations.lock().unwrap() += 1;
        let (delay, echo) = {
            let s = script.lock().unwrap();
            (s.validation_delay, s.echo)
        };
        tokio::time::sleep(delay).await;
        let token = parts
            .uri
            .query()
            .and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "validationToken")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        let body = if echo { token } else { "hello".to_owned() };
        return Ok(Response::new(Full::new(Bytes::from(body))));
    }
    received.lock().unwrap().push(Received {
        headers: parts.headers,
        body,
    });
    let status = {
        let mut s = script.lock().unwrap();
        s.always.or_else(|| s.statuses.pop_front()).unwrap_or(200)
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if (300..400).contains(&status) {
        response.headers_mut().insert(
            http::header::LOCATION,
            "http://127.0.0.1:9/elsewhere".parse().unwrap(),
        );
    }
    Ok(response)
}

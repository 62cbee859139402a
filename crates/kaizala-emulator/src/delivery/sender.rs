//! The HTTP side of webhooks: the validation GET and the event POSTs, over
//! HTTP or HTTPS (rustls, webpki roots), never following redirects.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Answers bigger than this are not read (a receiver acknowledges with a
/// status; the validation echo is a short token).
const MAX_ANSWER: usize = 64 * 1024;

/// An HTTP client for callbacks.
#[derive(Debug, Clone)]
pub struct Sender {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// How a callback request ended.
#[derive(Debug)]
pub enum Answer {
    /// The status and body of an answer.
    Status(u16, Bytes),
    /// None within the time allowed.
    Timeout,
    /// No connection, or a broken one.
    Failed(String),
}

impl Sender {
    /// A client for HTTP and HTTPS callbacks (web PKI roots) that gives up
    /// connecting after 5 s.
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("the ring provider supports the default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Sender {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Sends `request`, reading the answer within `timeout`.
    pub async fn send(&self, request: http::Request<Bytes>, timeout: Duration) -> Answer {
        let exchange = async {
            let response = self
                .client
                .request(request.map(Full::new))
                .await
                .map_err(|e| {
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(inner) = source {
                        text = format!("{text}: {inner}");
                        source = inner.source();
                    }
                    text
                })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, String>(Answer::Status(status, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => Answer::Failed(reason),
            Err(_) => Answer::Timeout,
        }
    }
}

impl Default for Sender {
    fn default() -> Self {
        Sender::new()
    }
}

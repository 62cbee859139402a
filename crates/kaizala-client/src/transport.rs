//! Moving bytes: a pooled HTTP/1.1 client (hyper-util) over rustls, with
//! the timeouts and response-size cap applied per attempt.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Larger answers are refused: the API's are a few kilobytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How an attempt failed below HTTP.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// No connection could be made: the request was not sent.
    Connect(Box<dyn std::error::Error + Send + Sync>),
    /// The connection broke (or the answer was too large) after the request started.
    Broken(Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Transport {
    pub(crate) fn new(connect_timeout: Duration) -> Result<Self, rustls::Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        Ok(Transport { client })
    }

    /// Sends `request` and reads the whole answer within `timeout`.
    pub(crate) async fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, Failure> {
        let exchange = async {
            let response = self
                .client
                .request(request.map(Full::new))
                .await
                .map_err(|err| {
                    if err.is_connect() {
                        Failure::Connect(Box::new(err))
                    } else {
                        Failure::Broken(Box::new(err))
                    }
                })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(Failure::Broken)?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(Failure::Timeout))
    }
}

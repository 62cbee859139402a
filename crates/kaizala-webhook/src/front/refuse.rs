//! What a connection over the cap gets: a quick `503` and a close.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::FrontConfig;

/// Seconds a refused client is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;
/// The most of a refused request's body read before answering: reading it
/// lets the close be clean (closing on unread bytes resets the connection,
/// and the client may lose the answer), but no more than this.
const DRAIN_LIMIT: usize = 64 * 1024;
/// How long a refused connection may take, all in all.
const REFUSAL_TIME: Duration = Duration::from_secs(5);

/// Answers the first request on `stream` with `503 Service Unavailable`,
/// `Retry-After` and `Connection: close`, then closes it.
pub(super) async fn refuse(stream: TcpStream, config: &FrontConfig) {
    let refusing = async {
        match &config.tls {
            None => answer(TokioIo::new(stream)).await,
            Some(tls) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
                if let Ok(stream) = acceptor.accept(stream).await {
                    answer(TokioIo::new(stream)).await;
                }
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_TIME, refusing).await;
}

async fn answer<I>(io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIME)
        .keep_alive(false);
    let _ = http.serve_connection(io, service_fn(unavailable)).await;
}

async fn unavailable(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let _ = Limited::new(request.into_body(), DRAIN_LIMIT)
        .collect()
        .await;
    Ok(over_the_cap())
}

fn over_the_cap() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(
        b"too many connections; retry shortly\n",
    )));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

//! The dashboard page: a small HTTP server showing what a database holds.
//!
//! - `GET /` is the page (HTML, CSS, JavaScript and SVG, all embedded in
//!   the binary: it works without any network but this server's);
//! - `GET /api/dashboard` is [`Sink::dashboard`] as JSON, read afresh on
//!   every request (the page polls it every 5 s);
//! - the page's assets (`/app.js`, `/style.css`, …), from `assets/`
//!   beside this file, compiled in;
//! - the OData feed under `/odata/` ([`crate::odata`]).
//!
//! With credentials ([`Access`](crate::access::Access)), every path asks
//! for them.
//!
//! Every response carries a strict `Content-Security-Policy` (no inline
//! script, nothing from another origin) and `X-Content-Type-Options:
//! nosniff`. On a loopback address, only requests naming a loopback host
//! are answered, so a web page elsewhere cannot read the data through DNS
//! rebinding.

mod assets;
mod routes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use kaizala_sink::Sink;
use kaizala_webhook::front::{self, Front, FrontConfig, FrontService};
use tokio::net::TcpListener;

pub use self::routes::Options;
use self::routes::Routes;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`DashboardServer::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The front settings the page is served with unless told otherwise.
pub fn front_config() -> FrontConfig {
    FrontConfig::new()
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .shutdown_grace(SHUTDOWN_GRACE)
}

/// The page and the feed of `sink` as a service, for a front listening on
/// `addr`, with `options`: who may read, the feed's page size and scheme.
pub fn service(
    sink: Sink,
    addr: SocketAddr,
    options: Options,
) -> impl FrontService<Body = routes::Body> {
    let routes = Arc::new(Routes::new(sink, addr, options));
    service_fn(move |request: http::Request<Incoming>| {
        let routes = Arc::clone(&routes);
        async move { Ok::<_, Infallible>(routes.handle(&request).await) }
    })
}

/// Serves the dashboard of `sink` on `listener`, on the current tokio
/// runtime, until [`DashboardServer::shutdown`] (or until it is dropped):
/// open to anyone, with the OData feed's default page size.
#[allow(dead_code, reason = "the tests serve with the defaults")]
pub fn serve(listener: TcpListener, sink: Sink) -> DashboardServer {
    serve_with(listener, sink, Options::default())
}

/// [`serve`] with `options`: who may read, the feed's page size.
pub fn serve_with(listener: TcpListener, sink: Sink, options: Options) -> DashboardServer {
    let addr = listener
        .local_addr()
        .expect("a bound TcpListener has a local address");
    DashboardServer(front::serve(
        listener,
        service(sink, addr, options),
        front_config(),
    ))
}

/// A running dashboard server. Dropping it stops it without waiting;
/// [`shutdown`](Self::shutdown) waits for requests in flight.
#[derive(Debug)]
#[must_use = "dropping a DashboardServer stops it"]
pub struct DashboardServer(Front);

impl DashboardServer {
    /// The page's address: `http://ADDR/`, with loopback in place of an
    /// unspecified address (`0.0.0.0`, `[::]`).
    pub fn url(&self) -> String {
        self.0.url("/")
    }

    /// The address it listens on.
    #[allow(dead_code, reason = "API for the commands; the tests use it")]
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Stops accepting connections and waits (up to 5 s) for the requests
    /// in flight to be answered.
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_over_tcp_until_shut_down() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::connect(dir.path().join("d.db").to_str().unwrap())
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(listener, sink.clone());
        let addr = server.local_addr();
        assert_eq!(server.url(), format!("http://{addr}/"));

        let page = get(addr, "/").await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("<title>Kaizala dashboard</title>"), "{page}");
        let api = get(addr, "/api/dashboard").await;
        assert!(api.starts_with("HTTP/1.1 200 OK\r\n"), "{api}");
        assert!(api.contains("\"latest_messages\":[]"), "{api}");

        server.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        sink.close().await;
    }

    #[tokio::test]
    async fn url_names_loopback_for_an_unspecified_address() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::connect(dir.path().join("d.db").to_str().unwrap())
            .await
            .unwrap();
        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let server = serve(listener, sink);
        let port = server.local_addr().port();
        assert_eq!(server.url(), format!("http://127.0.0.1:{port}/"));
        drop(server);
    }
}

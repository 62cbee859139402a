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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use kaizala_sink::Sink;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::routes::Options;
use self::routes::Routes;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`DashboardServer::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    let routes = Arc::new(Routes::new(sink, addr, options));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, routes, stopped));
    DashboardServer { addr, stop, task }
}

/// A running dashboard server. Dropping it stops it without waiting;
/// [`shutdown`](Self::shutdown) waits for requests in flight.
#[derive(Debug)]
#[must_use = "dropping a DashboardServer stops it"]
pub struct DashboardServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DashboardServer {
    /// The page's address: `http://ADDR/`, with loopback in place of an
    /// unspecified address (`0.0.0.0`, `[::]`).
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{addr}/")
    }

    /// The address it listens on.
    #[allow(dead_code, reason = "API for the commands; the tests use it")]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits (up to 5 s) for the requests
    /// in flight to be answered.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "dashboard: server task failed");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    routes: Arc<Routes>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %err, "dashboard: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // A stop, or the handle dropped.
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let routes = Arc::clone(&routes);
        let service = service_fn(move |request| {
            let routes = Arc::clone(&routes);
            async move { Ok::<_, Infallible>(routes.handle(&request).await) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "dashboard: connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("dashboard: requests still in flight after the grace period");
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

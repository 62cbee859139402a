//! What the server answers: the page, its assets, the data.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use kaizala_sink::Sink;

use super::assets::{self, Asset};
use crate::access::Access;
use crate::odata::{DEFAULT_PAGE_SIZE, Feed};

/// Where the page may load anything from: this server only, scripts from
/// files only (no inline script, no `eval`), no plugins, no framing.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The data's path.
const API_PATH: &str = "/api/dashboard";

/// The methods every path accepts.
const ALLOWED_METHODS: &str = "GET, HEAD";

pub(super) type Body = Full<Bytes>;

/// How a server answers, beyond what it serves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Who may read.
    pub access: Access,
    /// Rows per page of the OData feed.
    pub page_size: u64,
    /// `https` when reached over TLS: the feed's links name it.
    pub scheme: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access: Access::open(),
            page_size: DEFAULT_PAGE_SIZE,
            scheme: "http",
        }
    }
}

/// The request handler of one server.
#[derive(Debug)]
pub(super) struct Routes {
    sink: Sink,
    /// Listening on loopback: requests must name a loopback host.
    loopback_only: bool,
    access: Access,
    feed: Feed,
}

impl Routes {
    /// Routes for `sink`, served on `addr`.
    pub(super) fn new(sink: Sink, addr: SocketAddr, options: Options) -> Self {
        Routes {
            feed: Feed::new(sink.clone(), options.page_size, options.scheme),
            sink,
            loopback_only: addr.ip().is_loopback(),
            access: options.access,
        }
    }

    /// Answers `request` (its body is not read), and logs it (at debug
    /// level: `RUST_LOG=kaizala::dashboard=debug` shows every request).
    pub(super) async fn handle<B>(&self, request: &Request<B>) -> Response<Body> {
        let response = self.route(request).await;
        tracing::debug!(
            target: "kaizala::dashboard",
            method = %request.method(),
            path = request.uri().path(),
            status = response.status().as_u16(),
            "request"
        );
        response
    }

    async fn route<B>(&self, request: &Request<B>) -> Response<Body> {
        let path = request.uri().path();
        let feed = Feed::serves(path);
        let known = feed || path == API_PATH || assets::find(path).is_some();
        if !known {
            return text(StatusCode::NOT_FOUND, "not found\n");
        }
        if !self.access.admits(request) {
            let mut response = text(StatusCode::UNAUTHORIZED, "credentials required\n");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, self.access.challenge());
            return response;
        }
        if feed {
            if self.loopback_only && !names_loopback(request) {
                return text(
                    StatusCode::FORBIDDEN,
                    "this server answers requests for localhost only\n",
                );
            }
            let mut response = self.feed.handle(request).await;
            harden(&mut response);
            return response;
        }
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
            return response;
        }
        if self.loopback_only && !names_loopback(request) {
            return text(
                StatusCode::FORBIDDEN,
                "this dashboard answers requests for localhost only\n",
            );
        }
        match assets::find(path) {
            Some(asset) => file(asset),
            None => self.data().await,
        }
    }

    /// `GET /api/dashboard`.
    async fn data(&self) -> Response<Body> {
        match self.sink.dashboard().await {
            Ok(dashboard) => match serde_json::to_vec(&dashboard) {
                Ok(json) => respond(StatusCode::OK, "application/json", json.into(), "no-store"),
                Err(err) => error_json(&format!("cannot encode the dashboard: {err}")),
            },
            Err(err) => {
                tracing::warn!(error = %err, "dashboard: cannot read the database");
                error_json(&err.to_string())
            }
        }
    }
}

/// Whether the request's `Host` is `localhost` or a loopback address (or
/// absent, as in HTTP/1.0).
fn names_loopback<B>(request: &Request<B>) -> bool {
    let host = match request.uri().host() {
        Some(host) => host,
        None => match request.headers().get(header::HOST) {
            None => return true,
            Some(value) => match value.to_str() {
                Ok(host) => host,
                Err(_) => return false,
            },
        },
    };
    is_loopback_host(host)
}

/// Whether `host` (with or without a port) names this machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]` or `[::1]:8090`.
        match rest.split_once(']') {
            Some((ip, _)) => ip,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn file(asset: &'static Asset) -> Response<Body> {
    // `no-cache`: revalidate, so a new binary's page is picked up at once.
    respond(
        StatusCode::OK,
        asset.content_type,
        Bytes::from_static(asset.body),
        "no-cache",
    )
}

fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    respond(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(message.as_bytes()),
        "no-store",
    )
}

/// `503 {"error": message}`: the database could not be read (the page
/// says so and tries again).
fn error_json(message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        body.into(),
        "no-store",
    )
}

/// A response with the headers every response carries.
fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    cache_control: &'static str,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    harden(&mut response);
    response
}

/// Adds the headers every response carries: nothing from elsewhere, no
/// sniffing, no framing, no referrer.
fn harden(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use serde_json::Value;

    use super::*;

    struct Fixture {
        routes: Routes,
        sink: Sink,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::connect(dir.path().join("dashboard.db").to_str().unwrap())
            .await
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], 8090));
        Fixture {
            routes: Routes::new(sink.clone(), addr, Options::default()),
            sink,
            _dir: dir,
        }
    }

    fn request(method: Method, path: &str) -> Request<()> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8090")
            .body(())
            .unwrap()
    }

    async fn body(response: Response<Body>) -> Bytes {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    fn header(response: &Response<Body>, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn assert_hardened(response: &Response<Body>) {
        assert_eq!(
            header(response, header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(header(response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }

    #[tokio::test]
    async fn the_page_is_html_with_a_strict_policy() {
        let f = fixture().await;
        for path in ["/", "/index.html", "/?refresh=1"] {
            let response = f.routes.handle(&request(Method::GET, path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_hardened(&response);
            let html = String::from_utf8(body(response).await.to_vec()).unwrap();
            assert!(html.contains("<title>Kaizala dashboard</title>"));
        }
        let csp = CONTENT_SECURITY_POLICY;
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[tokio::test]
    async fn the_page_has_no_inline_script_or_style_and_nothing_remote() {
        let html = std::str::from_utf8(assets::INDEX.body).unwrap();
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains(" style="), "inline style");
        assert!(!html.contains("<style"), "inline style");
        for asset in assets::ALL {
            let text = std::str::from_utf8(asset.body).unwrap();
            for remote in ["http://", "https://", "//cdn"] {
                // The SVG namespace is a name, not a download.
                let loads = text
                    .match_indices(remote)
                    .filter(|(i, _)| !text[*i..].starts_with("http://www.w3.org/"))
                    .count();
                assert_eq!(loads, 0, "{} refers to {remote}", asset.path);
            }
        }
        // Every asset the page names is served.
        for name in ["/app.js", "/errors.js", "/style.css", "/favicon.svg"] {
            assert!(html.contains(&format!("\"{name}\"")), "{name}");
            assert!(assets::find(name).is_some(), "{name}");
        }
    }

    #[tokio::test]
    async fn assets_have_their_content_types() {
        let f = fixture().await;
        let expected = [
            ("/app.js", "text/javascript; charset=utf-8"),
            ("/errors.js", "text/javascript; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
            ("/favicon.svg", "image/svg+xml"),
        ];
        for (path, content_type) in expected {
            let response = f.routes.handle(&request(Method::GET, path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                content_type,
                "{path}"
            );
            assert_hardened(&response);
            assert!(!body(response).await.is_empty(), "{path}");
        }
    }

    #[tokio::test]
    async fn the_data_is_the_sinks_dashboard_as_json() {
        let f = fixture().await;
        let response = f.routes.handle(&request(Method::GET, API_PATH)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, header::CONTENT_TYPE), "application/json");
        assert_eq!(header(&response, header::CACHE_CONTROL), "no-store");
        assert_hardened(&response);
        let json: Value = serde_json::from_slice(&body(response).await).unwrap();
        for key in [
            "generated_at",
            "counts",
            "events_per_hour",
            "responses_over_time",
            "answer_distribution",
            "latest_messages",
        ] {
            assert!(json.get(key).is_some(), "no {key} in {json}");
        }
        assert!(json["generated_at"].is_i64());
        assert_eq!(json["time_zone"], "UTC");
        assert_eq!(json["counts"]["events"], 0);
        assert_eq!(json["counts"]["responses"], 0);
        assert_eq!(json["counts"]["quarantine"], 0);
        assert_eq!(json["latest_messages"], Value::Array(vec![]));
    }

    #[tokio::test]
    async fn a_database_error_is_a_503_with_a_message() {
        let f = fixture().await;
        f.sink.close().await;
        let response = f.routes.handle(&request(Method::GET, API_PATH)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&response, header::CONTENT_TYPE), "application/json");
        assert_eq!(header(&response, header::CACHE_CONTROL), "no-store");
        let json: Value = serde_json::from_slice(&body(response).await).unwrap();
        let message = json["error"].as_str().unwrap();
        assert!(!message.is_empty(), "{json}");
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let f = fixture().await;
        for path in [
            "/nope",
            "/api",
            "/api/dashboard/",
            "/app.js/x",
            "/../Cargo.toml",
        ] {
            let response = f.routes.handle(&request(Method::GET, path)).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_hardened(&response);
        }
    }

    #[tokio::test]
    async fn only_get_and_head_are_allowed() {
        let f = fixture().await;
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            for path in ["/", API_PATH, "/app.js"] {
                let response = f.routes.handle(&request(method.clone(), path)).await;
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(header(&response, header::ALLOW), "GET, HEAD");
                assert_hardened(&response);
            }
        }
        let head = f.routes.handle(&request(Method::HEAD, "/")).await;
        assert_eq!(head.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn on_loopback_only_loopback_hosts_are_answered() {
        let f = fixture().await;
        for host in [
            "127.0.0.1:8090",
            "localhost:8090",
            "LOCALHOST",
            "[::1]:8090",
            "127.0.0.2",
        ] {
            let mut req = request(Method::GET, API_PATH);
            req.headers_mut()
                .insert(header::HOST, HeaderValue::from_str(host).unwrap());
            let response = f.routes.handle(&req).await;
            assert_eq!(response.status(), StatusCode::OK, "{host}");
        }
        // DNS rebinding: a name of someone else's that resolves to 127.0.0.1.
        for host in ["attacker.example:8090", "attacker.example", "[::2]:80"] {
            let mut req = request(Method::GET, API_PATH);
            req.headers_mut()
                .insert(header::HOST, HeaderValue::from_str(host).unwrap());
            let response = f.routes.handle(&req).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{host}");
        }
        // Listening on every address: any host name (a LAN name, say).
        let open = Routes::new(
            f.sink.clone(),
            SocketAddr::from(([0, 0, 0, 0], 8090)),
            Options::default(),
        );
        let mut req = request(Method::GET, "/");
        req.headers_mut()
            .insert(header::HOST, HeaderValue::from_static("dashboard.lan:8090"));
        assert_eq!(open.handle(&req).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn with_a_token_every_path_asks_for_it() {
        let f = fixture().await;
        let access = Access::open()
            .with_token(&kaizala_types::Secret::new("t0ken"))
            .unwrap();
        let options = Options {
            access,
            ..Options::default()
        };
        let routes = Routes::new(
            f.sink.clone(),
            SocketAddr::from(([0, 0, 0, 0], 8090)),
            options,
        );
        for path in ["/", API_PATH, "/odata/", "/odata/kz_messages"] {
            let response = routes.handle(&request(Method::GET, path)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(
                header(&response, header::WWW_AUTHENTICATE),
                "Bearer realm=\"kaizala\""
            );
            assert_hardened(&response);
            let mut req = request(Method::GET, path);
            req.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer t0ken"),
            );
            let response = routes.handle(&req).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_hardened(&response);
        }
        // The page stays as it was: unknown paths are 404 before any check.
        let response = routes.handle(&request(Method::GET, "/nope")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

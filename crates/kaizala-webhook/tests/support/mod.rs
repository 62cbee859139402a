//! Shared support for the receiver's integration tests: a receiver on
//! 127.0.0.1:0, and a raw HTTP/1.1 client over a tokio `TcpStream` that can
//! send anything — malformed requests, false `Content-Length`s, bodies a
//! byte at a time — and reads responses strictly.

#![allow(dead_code)] // each test binary uses part of it

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kaizala_webhook::{EventStore, Handlers, MemoryEventStore, Receiver, ReceiverConfig, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The callback token the tests configure.
pub const TOKEN: &str = "s3cret-callback-token";

/// How long any single step of a test may take before it is a failure
/// (a hang, not a slow machine).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A receiver with the in-memory store and no handlers.
pub async fn start(config: ReceiverConfig) -> Receiver<MemoryEventStore> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    kaizala_webhook::serve(listener, config, MemoryEventStore::new())
}

/// A receiver with the in-memory store running `handlers`.
pub async fn start_with_handlers(
    config: ReceiverConfig,
    handlers: Handlers,
) -> Receiver<MemoryEventStore> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::new(config, MemoryEventStore::new())
        .handlers(handlers)
        .serve(listener)
}

/// A receiver handing events to a store the test keeps a handle to.
pub async fn start_with_store<S: EventStore>(config: ReceiverConfig, store: Arc<S>) -> Receiver<S> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::with_shared_store(config, store).serve_without_handlers(listener)
}

/// The test configuration: callback token [`TOKEN`], everything else
/// default.
pub fn config() -> ReceiverConfig {
    ReceiverConfig::new().callback_token(TOKEN).unwrap()
}

/// A callback body: `{"eventId", "eventType", "data"}`.
pub fn event(event_id: &str, event_type: &str, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "eventId": event_id,
        "eventType": event_type,
        "objectId": "group-1",
        "objectType": "Group",
        "data": data,
    }))
    .unwrap()
}

/// A text message event.
pub fn text_event(event_id: &str, text: &str) -> Vec<u8> {
    event(
        event_id,
        "TextMessageCreated",
        serde_json::json!({ "text": text }),
    )
}

/// One request's bytes: request line, `host`, the given headers, and a
/// `content-length` for `body` unless `headers` set one (or a
/// `transfer-encoding`), then `body`.
pub fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let framed = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || method == "POST" || method == "PUT") {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// An event POST to `/` with `token` as `kz-callback-token` (none when
/// `None`).
pub fn post(token: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(token) = token {
        headers.push(("kz-callback-token", token));
    }
    request("POST", "/", &headers, body)
}

/// A `GET target`.
pub fn get(target: &str) -> Vec<u8> {
    request("GET", target, &[], b"")
}

/// Sends `request` on a new connection and reads one response.
pub async fn roundtrip(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut conn = Conn::open(addr).await;
    conn.send(request).await;
    conn.response().await
}

/// Posts `body` to `/` with the test's callback token.
pub async fn post_event(addr: SocketAddr, body: &[u8]) -> Reply {
    roundtrip(addr, &post(Some(TOKEN), body)).await
}

/// Waits for `future`, failing the test after [`PATIENCE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: still waiting after {PATIENCE:?}"),
    }
}

/// Waits until `condition` holds, failing the test after [`PATIENCE`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A response as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Reply {
    /// The only value of header `name`; `None` if absent, a failure if
    /// repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "header {name} repeated: {self:?}");
        first
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// The headers other than `date`, which changes by the second.
    pub fn headers_without_date(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(name, _)| name != "date")
            .cloned()
            .collect()
    }

    /// Asserts a `text/plain` answer: `status`, exactly `body`, the
    /// content type and `nosniff`.
    #[track_caller]
    pub fn assert_text(&self, status: u16, body: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.text(), body, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            self.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }

    /// Asserts the acknowledgement: 200 with an empty body.
    #[track_caller]
    pub fn assert_ack(&self) {
        assert_eq!(self.status, 200, "{self:?}");
        assert!(self.body.is_empty(), "{self:?}");
        assert_eq!(self.header("content-length"), Some("0"));
    }
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    /// Read but not yet consumed.
    buffer: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = within("connect", TcpStream::connect(addr))
            .await
            .expect("the receiver accepts connections");
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Writes `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// Writes `bytes`, reporting a failure (the peer closed) instead of
    /// failing the test.
    pub async fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Closes the sending half: the server reads end of file.
    pub async fn finish_sending(&mut self) {
        self.stream.shutdown().await.unwrap();
    }

    /// Sends `bytes` one at a time, `interval` apart, until all are sent or
    /// the server answers or closes (whatever it sent stays buffered for
    /// [`response`](Self::response) or [`until_closed`](Self::until_closed)).
    /// Returns how many bytes were sent, or the error that ended the
    /// connection (a reset).
    pub async fn trickle(&mut self, bytes: &[u8], interval: Duration) -> io::Result<usize> {
        for (sent, byte) in bytes.iter().enumerate() {
            self.try_send(std::slice::from_ref(byte)).await?;
            let mut chunk = [0u8; 4096];
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                read = self.stream.read(&mut chunk) => {
                    self.buffer.extend_from_slice(&chunk[..read?]);
                    return Ok(sent + 1);
                }
            }
        }
        Ok(bytes.len())
    }

    /// Reads one response (within [`PATIENCE`]).
    pub async fn response(&mut self) -> Reply {
        self.response_with_body(true).await
    }

    /// Reads the response to a `HEAD`: its `content-length` announces a
    /// body that is not sent.
    pub async fn head_response(&mut self) -> Reply {
        self.response_with_body(false).await
    }

    /// Reads one response if there is one (within [`PATIENCE`]): `None`
    /// if the connection closes cleanly first, the error if it is reset.
    pub async fn try_response(&mut self) -> io::Result<Option<Reply>> {
        within("a response", self.read_response(true)).await
    }

    async fn response_with_body(&mut self, with_body: bool) -> Reply {
        match within("a response", self.read_response(with_body)).await {
            Ok(Some(reply)) => reply,
            Ok(None) => panic!("the connection closed without a response"),
            Err(err) => panic!("reading a response: {err}"),
        }
    }

    /// Reads until the server closes the connection, without a deadline:
    /// the bytes it sent before closing, or the error that ended the
    /// connection (a reset).
    pub async fn until_closed(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = std::mem::take(&mut self.buffer);
        self.stream.read_to_end(&mut rest).await?;
        Ok(rest)
    }

    /// One response, `None` if the connection closes cleanly before its
    /// first byte.
    async fn read_response(&mut self, with_body: bool) -> io::Result<Option<Reply>> {
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at;
            }
            if self.fill().await? == 0 {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "closed inside a response head: {:?}",
                        String::from_utf8_lossy(&self.buffer)
                    ),
                ));
            }
        };
        let head = String::from_utf8(self.buffer[..head_end].to_vec()).expect("an ASCII head");
        self.buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line");
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let value = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        // Interim (1xx), 204 and 304 answers, and answers to a HEAD, have
        // no body whatever their headers say.
        let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
        let body = if !with_body || bodiless {
            Vec::new()
        } else if let Some(len) = value("content-length") {
            let len: usize = len.parse().unwrap();
            self.take(len).await?
        } else if value("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
            self.chunked().await?
        } else {
            self.until_closed().await?
        };
        Ok(Some(Reply {
            status,
            headers,
            body,
        }))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await?;
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(read)
    }

    async fn take(&mut self, len: usize) -> io::Result<Vec<u8>> {
        while self.buffer.len() < len {
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(self.buffer.drain(..len).collect())
    }

    async fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(at) = find(&self.buffer, b"\r\n") {
                let line = String::from_utf8(self.buffer[..at].to_vec()).unwrap();
                self.buffer.drain(..at + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size = self.line().await?;
            let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.take(size).await?);
            assert_eq!(self.line().await?, "", "a chunk ends with CRLF");
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body: `chunks` each framed, then the last chunk.
pub fn chunked(chunks: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for chunk in chunks {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

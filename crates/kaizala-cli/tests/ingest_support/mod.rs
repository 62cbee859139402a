//! Shared by the `kaizala ingest` process tests (`crash.rs`,
//! `scale_out.rs`): databases to run against (an SQLite file always; a
//! fresh PostgreSQL database when `KAIZALA_TEST_POSTGRES_URL` is set), the
//! real `kaizala ingest` binary as a child process, an HTTP client, the
//! emulator's admin API, waiting with deadlines, and synthetic events
//! ([`events`]).

#![allow(dead_code)] // each test binary uses part of it

pub mod events;
pub mod tls;

use std::fs::File;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kaizala_sink::Sink;
use serde_json::Value;
use sqlx::{Connection, Row};

pub const POSTGRES_VAR: &str = "KAIZALA_TEST_POSTGRES_URL";
pub const REQUIRE_VAR: &str = "KAIZALA_TEST_REQUIRE_SERVICES";
/// The Python with the test suite's PyPI packages.
pub const PYTHON_VAR: &str = "KAIZALA_TEST_PYTHON";

/// The callback token every test's receiver expects.
pub const TOKEN: &str = "crash-test-callback-token-7c1e";
pub const PATH: &str = "/kaizala";

/// The PostgreSQL server's URL, or `None` when the test should be skipped
/// (`docs/testing.md`).
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") => {
            panic!("{POSTGRES_VAR} is not set, and {REQUIRE_VAR}=1")
        }
        _ => {
            eprintln!(
                "skipped: needs PostgreSQL \
                 (set KAIZALA_TEST_POSTGRES_URL or run through cargo xtask test)"
            );
            None
        }
    }
}

/// The Python that imports `packages` (`KAIZALA_TEST_PYTHON`), or `None`
/// when the test should be skipped.
pub fn test_python(packages: &str) -> Option<PathBuf> {
    match std::env::var(PYTHON_VAR) {
        Ok(path) if !path.trim().is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") => {
            panic!("{PYTHON_VAR} is not set, and {REQUIRE_VAR}=1")
        }
        _ => {
            eprintln!(
                "skipped: needs a Python with {packages} (set {PYTHON_VAR} or run through \
                 cargo xtask test)"
            );
            None
        }
    }
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    /// The URL `kaizala ingest --db` and [`Sink::connect`] take.
    pub url: String,
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    /// A directory for the test's files (the SQLite file, child logs).
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        TestDb {
            url: format!("sqlite://{}", dir.path().join("ingest.db").display()),
            kind: "sqlite",
            dir,
            postgres: None,
        }
    }

    /// A new, empty PostgreSQL database on the server `admin_url` names.
    pub async fn postgres(admin_url: &str) -> TestDb {
        sqlx::any::install_default_drivers();
        let name = format!(
            "kzcli_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000_000
        );
        let mut conn = sqlx::AnyConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR}: cannot connect: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        TestDb {
            url: with_database(admin_url, &name),
            kind: "postgres",
            dir: tempfile::tempdir().unwrap(),
            postgres: Some((admin_url.to_owned(), name)),
        }
    }

    /// Opens it (migrating it if no one did yet).
    pub async fn connect(&self) -> Sink {
        Sink::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.kind))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside a runtime: do the async work elsewhere.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                sqlx::any::install_default_drivers();
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// `url` with another user.
pub fn with_user(url: &str, user: &str) -> String {
    let start = url.find("://").unwrap() + 3;
    let at = url[start..].find('@').unwrap() + start;
    format!("{}{user}{}", &url[..start], &url[at..])
}

/// Runs `sql` on `url`; the error's text if it failed.
pub async fn try_sql(url: &str, sql: &str) -> Result<(), String> {
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let result = sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    result
}

/// Stores `count` sample events (ids starting with `prefix`) through
/// `sink`'s event store, and projects them.
pub async fn store_samples(sink: &Sink, prefix: &str, count: u64) {
    use kaizala_webhook::store::{EventStore, IncomingEvent};
    let store = sink.event_store();
    for i in 0..count {
        let event = events::sample_event(prefix, i, None);
        let incoming = IncomingEvent::new(event.body.to_vec(), std::time::SystemTime::now());
        store.store(&incoming.unwrap()).await.unwrap();
    }
    sink.project().await.unwrap();
}

/// A login role named `prefix` and this run's id, made afresh (roles are
/// the cluster's, not the database's: drop it at the end).
pub async fn fresh_role(admin_url: &str, prefix: &str) -> String {
    let role = format!("{prefix}_{}", std::process::id());
    try_sql(
        admin_url,
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"),
    )
    .await
    .unwrap();
    role
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns `Some`, every `every`, failing with
/// `what` (and what `check` last said) after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {last}")
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// A `kaizala ingest` process (the real binary, a child of the test).
/// Dropping it kills it.
pub struct Ingest {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its standard error (where it reports), for failure messages.
    pub log: PathBuf,
}

impl Ingest {
    /// Starts `kaizala ingest --db URL --listen 127.0.0.1:PORT
    /// --callback-token TOKEN --path /kaizala`; returns once it answers the
    /// validation request.
    pub async fn start(db_url: &str, port: u16, log_dir: &Path, label: &str) -> Ingest {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ingest = Ingest::spawn(db_url, addr, log_dir, label);
        ingest.wait_ready().await;
        ingest
    }

    /// Starts it without waiting for it to answer.
    pub fn spawn(db_url: &str, addr: SocketAddr, log_dir: &Path, label: &str) -> Ingest {
        Ingest::spawn_with(db_url, addr, log_dir, label, &[])
    }

    /// Starts it with more arguments (`--no-project`), without waiting for
    /// it to answer.
    pub fn spawn_with(
        db_url: &str,
        addr: SocketAddr,
        log_dir: &Path,
        label: &str,
        extra: &[&str],
    ) -> Ingest {
        let log = log_dir.join(format!("{label}.log"));
        let stderr = File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kaizala"))
            .args(["ingest", "--db", db_url, "--listen", &addr.to_string()])
            .args(["--callback-token", TOKEN, "--path", PATH])
            .args(extra)
            .env("RUST_LOG", "warn,sqlx=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting the kaizala binary");
        Ingest { child, addr, log }
    }

    /// The callback URL.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// What it wrote on standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (up to 30 s) until it echoes a validation token; fails at once
    /// if it exits.
    pub async fn wait_ready(&self) {
        let client = http_client();
        let url = format!("{}?validationToken=ready", self.url());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, body)) = get(&client, &url).await
                && body == "ready"
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kaizala ingest on {} did not answer within 30 s:\n{}",
                self.addr,
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// `kill -9`: no chance to finish anything. Returns once it is gone.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap(); // SIGKILL on unix
        self.child.wait().unwrap();
        self.stderr()
    }

    /// SIGTERM (what Ctrl-C does): it drains requests in flight, prints its
    /// summary and exits. Returns its standard error.
    pub async fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = self.stderr();
                assert!(
                    status.success(),
                    "kaizala ingest exited {status}:\n{stderr}"
                );
                return stderr;
            }
            assert!(
                Instant::now() < deadline,
                "kaizala ingest did not stop within 30 s of SIGTERM:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another `kaizala` command running as a child process (`kaizala
/// rebuild`), its standard output and error in one file. Dropping it kills
/// it.
pub struct Kaizala {
    child: Child,
    /// Where its output goes.
    pub log: PathBuf,
    /// When it was started.
    pub started: Instant,
}

impl Kaizala {
    /// Starts `kaizala ARGS…`, its output going to `log_dir/label.log`.
    pub fn spawn(args: &[&str], log_dir: &Path, label: &str) -> Kaizala {
        let log = log_dir.join(format!("{label}.log"));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kaizala"))
            .args(args)
            .env("RUST_LOG", "warn,sqlx=error")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starting the kaizala binary");
        Kaizala {
            child,
            log,
            started: Instant::now(),
        }
    }

    /// What it wrote so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// `kill -9`; returns its output once it is gone.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.output()
    }

    /// Waits (up to `timeout`) for it to exit; its exit status and output.
    pub async fn wait(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.output());
            }
            assert!(
                Instant::now() < deadline,
                "kaizala did not finish within {timeout:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Kaizala {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The counters `kaizala ingest` prints when it stops: `N received, N
/// stored, N duplicates, N quarantined, N refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub refused: u64,
}

impl Summary {
    /// Reads the summary line from `kaizala ingest`'s standard error.
    pub fn parse(stderr: &str) -> Summary {
        let line = stderr
            .lines()
            .rev()
            .find(|l| l.contains(" received, ") && l.ends_with(" refused"))
            .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
        let numbers: Vec<u64> = line
            .split(", ")
            .map(|part| part.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 5, "{line}");
        Summary {
            received: numbers[0],
            stored: numbers[1],
            duplicates: numbers[2],
            quarantined: numbers[3],
            refused: numbers[4],
        }
    }
}

/// How many log entries `kaizala ingest` says its projector projected
/// (`projected 1,024 log entries in 3 batches …`), from its standard error.
pub fn projected(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .rev()
        .find(|l| {
            l.starts_with("projected ")
                && (l.contains(" log entries in ") || l.contains(" log entry in "))
        })
        .unwrap_or_else(|| panic!("no projector line in:\n{stderr}"));
    let count = line.split(' ').nth(1).unwrap().replace(',', "");
    count
        .parse()
        .unwrap_or_else(|e| panic!("`{count}` in `{line}`: {e}"))
}

/// Waits (up to `timeout`) until the projection has caught up with the log.
pub async fn caught_up(sink: &Sink, timeout: Duration) -> kaizala_sink::Status {
    wait_for(
        "the projection to catch up",
        timeout,
        Duration::from_millis(50),
        || async {
            let status = sink.status().await.map_err(|e| e.to_string())?;
            if status.is_caught_up() {
                Ok(status)
            } else {
                Err(format!("{status}"))
            }
        },
    )
    .await
}

pub type Http = HttpClient<HttpConnector, Full<Bytes>>;

/// A keep-alive HTTP/1.1 client.
pub fn http_client() -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    HttpClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// `GET url`: status and body.
pub async fn get(client: &Http, url: &str) -> Result<(u16, String), String> {
    let request = http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    send(client, request).await
}

/// Sends `request` with any client (HTTP or HTTPS): status and body.
pub async fn send<C>(
    client: &HttpClient<C, Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<(u16, String), String>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The JSON of `kaizala dashboard`'s data, from the one listening on
/// `listen` (waiting up to 30 s for it to answer 200).
pub async fn dashboard_data(listen: &str) -> String {
    let client = http_client();
    let api = format!("http://{listen}/api/dashboard");
    wait_for(
        "the dashboard",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let (client, api) = (client.clone(), api.clone());
            async move {
                match get(&client, &api).await {
                    Ok((200, body)) => Ok(body),
                    Ok((status, body)) => Err(format!("{status}: {body}")),
                    Err(err) => Err(err),
                }
            }
        },
    )
    .await
}

/// POSTs an event with the callback token, as the platform does; the
/// status.
pub async fn post_event(client: &Http, url: &str, body: Bytes) -> Result<u16, String> {
    post_event_with(client, url, body, TOKEN).await
}

/// POSTs an event with `token` as its callback token; the status.
pub async fn post_event_with(
    client: &Http,
    url: &str,
    body: Bytes,
    token: &str,
) -> Result<u16, String> {
    let request = http::Request::post(url)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header("kz-callback-token", token)
        .body(Full::new(body))
        .unwrap();
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

/// `POST {emulator}/admin/simulate/{what}`; the summary it answers.
pub async fn simulate(client: &Http, emulator_base: &str, what: &str, body: &Value) -> Value {
    let request = http::Request::post(format!("{emulator_base}/admin/simulate/{what}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "simulate/{what}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap()
}

/// One number from a query.
pub async fn scalar(sink: &Sink, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(sink.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get::<i64, _>(0)
        .unwrap()
}

/// The first column of every row of a query, as text.
pub async fn strings(sink: &Sink, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(sink.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap())
        .collect()
}

/// Runs `kaizala args…` to the end, with none of the variables that would
/// stand in for a flag (`KAIZALA_DB`, `KAIZALA_SCHEMA`, `KAIZALA_PROFILE`).
pub fn kaizala(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kaizala"))
        .args(args)
        .env_remove("KAIZALA_DB")
        .env_remove("KAIZALA_SCHEMA")
        .env_remove("KAIZALA_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `command` with `input` on its standard input and returns what it
/// printed. The input is written from a thread, so a child that prints
/// while it reads cannot fill its pipe and stall both sides.
pub fn output_with_input(command: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    output
}

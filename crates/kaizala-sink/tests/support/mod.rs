//! Shared by the sink's tests: databases to run against (an SQLite file
//! always; a fresh PostgreSQL database when `KAIZALA_TEST_POSTGRES_URL` is
//! set), events from fixtures, and table snapshots.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::SystemTime;

use kaizala_sink::Sink;
use kaizala_webhook::store::IncomingEvent;
use serde_json::Value;
use sqlx::{Connection, Row};

pub const POSTGRES_VAR: &str = "KAIZALA_TEST_POSTGRES_URL";
pub const REQUIRE_VAR: &str = "KAIZALA_TEST_REQUIRE_SERVICES";

/// A database for one test, removed when dropped.
pub struct TestDb {
    /// The URL to connect with.
    pub url: String,
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside a runtime: do the async work elsewhere.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    sqlx::any::install_default_drivers();
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("sink.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: "sqlite",
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A new, empty PostgreSQL database, if the environment names a server.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = match std::env::var(POSTGRES_VAR) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
                    panic!("{POSTGRES_VAR} is not set but {REQUIRE_VAR}=1");
                }
                eprintln!("skipped: set KAIZALA_TEST_POSTGRES_URL or run through cargo xtask test");
                return None;
            }
        };
        sqlx::any::install_default_drivers();
        let name = format!(
            "kzsink_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000_000
        );
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR}: cannot connect: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Some(TestDb {
            url: with_database(&admin_url, &name),
            kind: "postgres",
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    pub async fn connect(&self) -> Sink {
        Sink::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.kind))
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// Every database to run a test against: SQLite, and PostgreSQL when set.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().await];
    dbs.extend(TestDb::postgres().await);
    dbs
}

/// A fixture of `kaizala-types` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kaizala-types/tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// An event as the receiver hands it over, received now.
pub fn incoming(json: &Value) -> IncomingEvent {
    incoming_at(json, SystemTime::now())
}

pub fn incoming_at(json: &Value, received_at: SystemTime) -> IncomingEvent {
    let body = serde_json::to_vec(json).unwrap();
    IncomingEvent::new(body, received_at).unwrap()
}

/// A `SurveyResponse` event `r{i}` of response `resp{i}` to action `a1`
/// in group `g1`, with `questions` (its `responseWithQuestions`).
pub fn survey_response(i: usize, questions: Value) -> Value {
    serde_json::json!({"eventId": format!("r{i}"), "eventType": "SurveyResponse",
        "objectId": "g1", "objectType": "Group",
        "data": {"actionId": "a1", "groupId": "g1", "responseId": format!("resp{i}"),
            "responseDetails": {"responseWithQuestions": questions}}})
}

/// `json` with `eventId` (and optionally `eventType`) replaced.
pub fn with_id(mut json: Value, event_id: &str, event_type: Option<&str>) -> Value {
    json["eventId"] = Value::from(event_id);
    if let Some(t) = event_type {
        json["eventType"] = Value::from(t);
    }
    json
}

/// Every row of a query, as JSON values (column name → value).
pub async fn rows(sink: &Sink, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    use sqlx::{Column, ValueRef};
    let rows = sqlx::query(sql).fetch_all(sink.pool()).await.unwrap();
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let raw = row.try_get_raw(i).unwrap();
                    let value = if raw.is_null() {
                        Value::Null
                    } else if let Ok(n) = row.try_get::<i64, _>(i) {
                        Value::from(n)
                    } else if let Ok(f) = row.try_get::<f64, _>(i) {
                        Value::from(f)
                    } else if let Ok(s) = row.try_get::<String, _>(i) {
                        Value::from(s)
                    } else {
                        Value::from(format!("{:?}", row.try_get::<Vec<u8>, _>(i).ok()))
                    };
                    (column.name().to_owned(), value)
                })
                .collect()
        })
        .collect()
}

/// Every row of a query, once the projection caught up with the log.
pub async fn projected(sink: &Sink, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    sink.project().await.unwrap();
    rows(sink, sql).await
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

// ---- additions for the acceptance tests of issue 11 ------------------------

/// The projected tables, each with the columns that order its rows (its
/// key), as declared in `src/schema/tables.rs`.
pub const PROJECTED: [(&str, &str); 11] = [
    ("event_index", "event_id"),
    ("groups", "group_id"),
    ("members", "group_id, member_id"),
    ("member_changes", "event_id"),
    ("messages", "event_id"),
    ("attachments", "event_id, item_index"),
    ("actions", "action_id"),
    ("responses", "response_id"),
    ("answers", "response_id, question_index"),
    ("reactions", "reference_id"),
    ("projection_errors", "position"),
];

/// A table's rows: column name → value.
pub type TableRows = Vec<serde_json::Map<String, Value>>;

/// Every row of a query on any pool (what [`rows`] does on a sink's).
pub async fn rows_in(pool: &sqlx::AnyPool, sql: &str) -> TableRows {
    use sqlx::{Column, ValueRef};
    let rows = sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let raw = row.try_get_raw(i).unwrap();
                    let value = if raw.is_null() {
                        Value::Null
                    } else if let Ok(n) = row.try_get::<i64, _>(i) {
                        Value::from(n)
                    } else if let Ok(f) = row.try_get::<f64, _>(i) {
                        Value::from(f)
                    } else if let Ok(s) = row.try_get::<String, _>(i) {
                        Value::from(s)
                    } else {
                        Value::from(format!("{:?}", row.try_get::<Vec<u8>, _>(i).ok()))
                    };
                    (column.name().to_owned(), value)
                })
                .collect()
        })
        .collect()
}

/// Every projected table, every column, in key order — as it is now (no
/// catching up first).
pub async fn snapshot(sink: &Sink) -> std::collections::BTreeMap<&'static str, TableRows> {
    let mut tables = std::collections::BTreeMap::new();
    for (table, key) in PROJECTED {
        let sql = format!("SELECT * FROM {table} ORDER BY {key}");
        tables.insert(table, rows_in(sink.pool(), &sql).await);
    }
    tables
}

/// Asserts two snapshots are equal, naming the first table and row that
/// differ (a whole-map `assert_eq!` would print thousands of rows).
pub fn assert_same_tables(
    what: &str,
    left: &std::collections::BTreeMap<&'static str, TableRows>,
    right: &std::collections::BTreeMap<&'static str, TableRows>,
) {
    for (table, _) in PROJECTED {
        let (l, r) = (&left[table], &right[table]);
        if l.len() != r.len() {
            let only = |a: &TableRows, b: &TableRows| -> Vec<String> {
                a.iter()
                    .filter(|row| !b.contains(row))
                    .map(|row| Value::Object((*row).clone()).to_string())
                    .collect()
            };
            panic!(
                "{what}: {table} has {} rows against {}\nonly left: {:?}\nonly right: {:?}",
                l.len(),
                r.len(),
                only(l, r),
                only(r, l)
            );
        }
        for (i, (a, b)) in l.iter().zip(r).enumerate() {
            assert_eq!(a, b, "{what}: {table} differs at row {i}");
        }
    }
}

/// Polls `check` every 50 ms until it holds, failing after `timeout` with
/// what `check` last said.
pub async fn eventually<F, Fut>(what: &str, timeout: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not within {timeout:?}: {last}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

/// The directory of this crate's own fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The tables of a database written by kaizala-sink 0.1 (its migration
/// `0001_schema.sql`), in an order that inserts cleanly.
pub const TABLES_0_1: [&str; 12] = [
    "events",
    "quarantine",
    "groups",
    "members",
    "member_changes",
    "messages",
    "attachments",
    "actions",
    "responses",
    "answers",
    "reactions",
    "sync_state",
];

/// A pool on an SQLite file, without the sink (so nothing migrates it).
pub async fn raw_sqlite(path: &std::path::Path) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=rw", path.display()))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl TestDb {
    /// A copy of `tests/fixtures/{fixture}` (an SQLite database) in a
    /// temporary directory: the test may upgrade it, the fixture stays as
    /// it was.
    pub async fn sqlite_copy(fixture: &str) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sink.db");
        std::fs::copy(fixtures_dir().join(fixture), &path)
            .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: "sqlite",
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// The SQLite file of a [`TestDb::sqlite_copy`] (or [`TestDb::sqlite`]).
    pub fn sqlite_path(&self) -> PathBuf {
        PathBuf::from(
            self.url
                .strip_prefix("sqlite://")
                .expect("an SQLite test database"),
        )
    }

    /// A fresh PostgreSQL database holding what the SQLite fixture
    /// `tests/fixtures/{fixture}` holds, in the schema kaizala-sink 0.1
    /// made: its migration (`tests/fixtures/postgres-0.1/0001_schema.sql`,
    /// the file as released) applied by sqlx's own migrator — so
    /// `_sqlx_migrations` holds version 1 with the checksum sqlx computes —
    /// then every row of the fixture copied in. `None` without a server.
    pub async fn postgres_0_1(fixture: &str) -> Option<TestDb> {
        let db = TestDb::postgres().await?;
        let source = TestDb::sqlite_copy(fixture).await;
        let from = raw_sqlite(&source.sqlite_path()).await;
        let to = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .unwrap();
        let migrator = sqlx::migrate::Migrator::new(fixtures_dir().join("postgres-0.1"))
            .await
            .unwrap();
        assert_eq!(
            migrator.iter().count(),
            1,
            "the 0.1 release had one migration"
        );
        migrator.run(&to).await.unwrap();
        for table in TABLES_0_1 {
            copy_table(&from, &to, table).await;
        }
        from.close().await;
        to.close().await;
        Some(db)
    }
}

/// Copies every row of `table` from an SQLite pool into the same table of
/// a PostgreSQL pool, typed by the PostgreSQL columns.
async fn copy_table(from: &sqlx::AnyPool, to: &sqlx::AnyPool, table: &str) {
    let columns: Vec<(String, String)> = sqlx::query(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(to)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect();
    assert!(!columns.is_empty(), "no table {table} in the 0.1 schema");
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let list = names.join(", ");
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES ({})",
        params.join(", ")
    );
    let source = sqlx::query(&format!("SELECT {list} FROM {table}"))
        .fetch_all(from)
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"));
    for row in &source {
        let mut query = sqlx::query(&insert);
        for (i, (name, ty)) in columns.iter().enumerate() {
            query = match ty.as_str() {
                "bigint" | "integer" => query.bind(row.get::<Option<i64>, _>(i)),
                "double precision" => match row.get::<Option<f64>, _>(i) {
                    Some(v) => query.bind(v),
                    // sqlx 0.8.6's Any driver types a NULL f32 as DOUBLE
                    // PRECISION (see the sink's `write::query`).
                    None => query.bind(None::<f32>),
                },
                "bytea" => query.bind(row.get::<Option<Vec<u8>>, _>(i)),
                "text" => query.bind(row.get::<Option<String>, _>(i)),
                other => panic!("{table}.{name}: no copy for {other}"),
            };
        }
        query
            .execute(to)
            .await
            .unwrap_or_else(|e| panic!("copying into {table}: {e}"));
    }
}

/// The emulated platform pushing to a real receiver that stores into a
/// sink, for the tests that need both halves of the platform.
pub mod emulated {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use kaizala_client::Client;
    use kaizala_core::throttle::{Budget, ThrottleConfig};
    use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
    use kaizala_sink::{Sink, SqlEventStore};
    use kaizala_types::event::{EventType, ObjectType};
    use kaizala_types::webhooks::CreateWebhookRequest;
    use kaizala_webhook::store::{EventStore, IncomingEvent, QuarantinedBody, StoreError, Stored};
    use kaizala_webhook::{ReceiverConfig, Server};
    use tokio::net::TcpListener;

    use super::{eventually, scalar};

    pub const TOKEN: &str = "sink-test-token";

    /// Budgets no test reaches: throttling is tested elsewhere.
    pub fn throttle() -> ThrottleConfig {
        ThrottleConfig {
            connector: Budget::per_minute(100_000),
            tenant: Budget::per_minute(100_000),
        }
    }

    /// The demo platform, reproducible, sending a `duplicate_rate` share of
    /// its deliveries twice.
    pub async fn emulator(random_seed: u64, duplicate_rate: f64) -> RunningEmulator {
        Emulator::start(EmulatorConfig {
            random_seed: Some(random_seed),
            throttle: throttle(),
            duplicate_rate,
            ..Default::default()
        })
        .await
        .unwrap()
    }

    /// A client of the seeded connector.
    pub fn client(emulator: &RunningEmulator) -> Client {
        let seeded = emulator.credentials().unwrap();
        Client::builder()
            .credentials(seeded.to_credentials())
            .base_url(&seeded.base_url)
            .throttle(throttle())
            .build()
            .unwrap()
    }

    /// The sink's event store behind a gate: while it is closed, every
    /// store fails, so the receiver answers an error and the platform
    /// delivers the event again later.
    #[derive(Clone)]
    pub struct Gate {
        store: SqlEventStore,
        open: Arc<AtomicBool>,
        refused: Arc<AtomicU64>,
    }

    impl Gate {
        pub fn new(sink: &Sink) -> Gate {
            Gate {
                store: sink.event_store(),
                open: Arc::new(AtomicBool::new(true)),
                refused: Arc::default(),
            }
        }

        pub fn set_open(&self, open: bool) {
            self.open.store(open, Ordering::SeqCst);
        }

        /// Stores refused while closed.
        pub fn refused(&self) -> u64 {
            self.refused.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl EventStore for Gate {
        async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
            if !self.open.load(Ordering::SeqCst) {
                self.refused.fetch_add(1, Ordering::SeqCst);
                return Err(StoreError::new("the test's gate is closed"));
            }
            self.store.store(event).await
        }

        async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
            self.store.quarantine(body).await
        }
    }

    /// A receiver storing through `gate`, subscribed to every event type of
    /// `group`; the receiver and the webhook's id.
    pub async fn receiver(
        client: &Client,
        group: &str,
        gate: &Gate,
    ) -> (kaizala_webhook::Receiver<Gate>, String) {
        let config = ReceiverConfig::new().callback_token(TOKEN).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Server::new(config, gate.clone()).serve_without_handlers(listener);
        let types = EventType::DOCUMENTED.into_iter().chain([
            EventType::PollCreated,
            EventType::PollResponse,
            EventType::LetsMeetCreated,
            EventType::LetsMeetResponse,
        ]);
        let mut request =
            CreateWebhookRequest::new(ObjectType::Group, group, types, receiver.url());
        request.callback_token = Some(TOKEN.into());
        let webhook = client
            .webhooks()
            .create(request)
            .await
            .unwrap()
            .webhook_id
            .into_string();
        (receiver, webhook)
    }

    /// Waits until the platform has no delivery left to make: each event
    /// it sent was acknowledged, hence committed to the sink's log.
    pub async fn settled(emulator: &RunningEmulator, webhook: &str, sink: &Sink) {
        eventually("deliveries settle", Duration::from_secs(60), || async {
            let (pending, active) = emulator.state(|s| {
                (
                    s.deliveries.len(),
                    s.webhooks.get(webhook).is_some_and(|w| w.active),
                )
            });
            assert!(active, "the webhook was disabled: deliveries gave up");
            let stored = scalar(sink, "SELECT COUNT(*) FROM events").await;
            if pending == 0 && stored > 0 {
                Ok(())
            } else {
                Err(format!(
                    "{pending} deliveries pending, {stored} events stored"
                ))
            }
        })
        .await;
    }

    /// Waits until every delivery pending has been tried (and refused) at
    /// least once, so none reaches the sink before the clock moves on.
    pub async fn all_refused(emulator: &RunningEmulator) {
        eventually(
            "every delivery refused once",
            Duration::from_secs(30),
            || async {
                let waiting = emulator.state(|s| {
                    s.deliveries
                        .iter()
                        .filter(|d| d.attempts == 0 || d.in_flight)
                        .count()
                });
                if waiting == 0 {
                    Ok(())
                } else {
                    Err(format!("{waiting} deliveries not tried yet"))
                }
            },
        )
        .await;
    }
}

/// Epoch milliseconds of `ms` milliseconds ago.
pub fn millis_ago(ms: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now - ms
}

/// The dashboard contract (docs/schema.md): each `kz_*` view's columns in
/// order, with the PostgreSQL type each must have (`information_schema`'s
/// `data_type`). Columns may only ever be added to this list.
pub const STABLE_VIEWS: [(&str, &[(&str, &str)]); 12] = {
    const TEXT: &str = "text";
    const BIGINT: &str = "bigint";
    const INTEGER: &str = "integer";
    const TIME: &str = "timestamp with time zone";
    const FLAG: &str = "boolean";
    const JSON: &str = "jsonb";
    [
        (
            "kz_groups",
            &[
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("group_type", TEXT),
                ("parent_group_id", TEXT),
                ("parent_group_name", TEXT),
                ("member_count", BIGINT),
                ("user_count", BIGINT),
                ("welcome_message", TEXT),
                ("is_removed", FLAG),
                ("removed_at", TIME),
                ("first_seen_at", TIME),
                ("updated_at", TIME),
            ],
        ),
        (
            "kz_members",
            &[
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("member_id", TEXT),
                ("member_name", TEXT),
                ("phone", TEXT),
                ("role", TEXT),
                ("is_provisioned", FLAG),
                ("joined_at", TIME),
                ("listed_at", TIME),
                ("updated_at", TIME),
            ],
        ),
        (
            "kz_member_changes",
            &[
                ("event_id", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("member_id", TEXT),
                ("member_name", TEXT),
                ("phone", TEXT),
                ("role", TEXT),
                ("change_type", TEXT),
                ("by_user_id", TEXT),
                ("by_user_name", TEXT),
                ("changed_at", TIME),
            ],
        ),
        (
            "kz_messages",
            &[
                ("event_id", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("sender_id", TEXT),
                ("sender_name", TEXT),
                ("sender_phone", TEXT),
                ("text", TEXT),
                ("sent_at", TIME),
            ],
        ),
        (
            "kz_attachments",
            &[
                ("event_id", TEXT),
                ("item_index", INTEGER),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("sender_id", TEXT),
                ("sender_name", TEXT),
                ("attachment_type", TEXT),
                ("caption", TEXT),
                ("media_url", TEXT),
                ("file_name", TEXT),
                ("sent_at", TIME),
            ],
        ),
        (
            "kz_actions",
            &[
                ("action_id", TEXT),
                ("action_type", TEXT),
                ("action_title", TEXT),
                ("text", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("package_id", TEXT),
                ("creator_id", TEXT),
                ("creator_name", TEXT),
                ("creator_phone", TEXT),
                ("created_at", TIME),
                ("expires_at", TIME),
                ("is_anonymous", FLAG),
                ("response_count", BIGINT),
                ("questions", JSON),
                ("first_seen_at", TIME),
                ("updated_at", TIME),
            ],
        ),
        (
            "kz_responses",
            &[
                ("response_id", TEXT),
                ("action_id", TEXT),
                ("action_title", TEXT),
                ("action_type", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("responder_id", TEXT),
                ("responder_name", TEXT),
                ("responder_phone", TEXT),
                ("responded_at", TIME),
                ("is_anonymous", FLAG),
                ("is_completed", FLAG),
                ("is_update", FLAG),
                ("updated_at", TIME),
                ("details", JSON),
            ],
        ),
        (
            "kz_answers",
            &[
                ("response_id", TEXT),
                ("question_index", INTEGER),
                ("question_title", TEXT),
                ("question_type", TEXT),
                ("action_id", TEXT),
                ("action_title", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("responder_id", TEXT),
                ("responder_name", TEXT),
                ("responded_at", TIME),
                ("is_invisible", FLAG),
                ("text_value", TEXT),
                ("number_value", "double precision"),
                ("json_value", JSON),
            ],
        ),
        (
            "kz_reactions",
            &[
                ("reference_id", TEXT),
                ("action_id", TEXT),
                ("action_title", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("likes", BIGINT),
                ("comments", BIGINT),
                ("counts", JSON),
                ("synced_at", TIME),
            ],
        ),
        (
            "kz_events",
            &[
                ("event_id", TEXT),
                ("position", BIGINT),
                ("event_type", TEXT),
                ("object_id", TEXT),
                ("object_type", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("from_user_id", TEXT),
                ("received_at", TIME),
            ],
        ),
        (
            "kz_responses_daily",
            &[
                ("day", "date"),
                ("action_id", TEXT),
                ("action_title", TEXT),
                ("group_id", TEXT),
                ("group_name", TEXT),
                ("responses", BIGINT),
            ],
        ),
        (
            "kz_answer_counts",
            &[
                ("action_id", TEXT),
                ("action_title", TEXT),
                ("question_index", INTEGER),
                ("question_title", TEXT),
                ("answer", TEXT),
                ("responses", BIGINT),
            ],
        ),
    ]
};

/// The columns of table or view `name` in order, each with its
/// PostgreSQL type (`information_schema`'s `data_type`; empty on SQLite).
pub async fn view_columns(sink: &Sink, name: &str) -> Vec<(String, String)> {
    let sql = if sink.backend() == kaizala_sink::Backend::Postgres {
        format!(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{name}' \
             ORDER BY ordinal_position"
        )
    } else {
        format!("SELECT name, '' FROM pragma_table_info('{name}') ORDER BY cid")
    };
    sqlx::query(&sql)
        .fetch_all(sink.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| (row.try_get(0).unwrap(), row.try_get(1).unwrap()))
        .collect()
}

/// The `kz_*` views of `sink`: the contract's columns in order (and on
/// PostgreSQL its native types), and counts that agree with the tables
/// under them. Returns what is wrong.
pub async fn check_stable_views(sink: &Sink) -> Vec<String> {
    let postgres = sink.backend() == kaizala_sink::Backend::Postgres;
    let mut wrong = Vec::new();
    for (view, columns) in STABLE_VIEWS {
        let found = view_columns(sink, view).await;
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        let declared: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        if names != declared {
            wrong.push(format!(
                "{view}: columns {names:?}, the contract says {declared:?}"
            ));
            continue;
        }
        if postgres {
            for ((name, ty), (_, expected)) in found.iter().zip(columns) {
                if ty != expected {
                    wrong.push(format!("{view}.{name}: {ty}, the contract says {expected}"));
                }
            }
        }
    }
    for (view, table) in [
        ("kz_groups", "groups"),
        ("kz_members", "members"),
        ("kz_member_changes", "member_changes"),
        ("kz_messages", "messages"),
        ("kz_attachments", "attachments"),
        ("kz_actions", "actions"),
        ("kz_responses", "responses"),
        ("kz_answers", "answers"),
        ("kz_reactions", "reactions"),
        ("kz_events", "event_index"),
    ] {
        let (v, t) = (
            scalar(sink, &format!("SELECT COUNT(*) FROM {view}")).await,
            scalar(sink, &format!("SELECT COUNT(*) FROM {table}")).await,
        );
        if v != t {
            wrong.push(format!("{view} has {v} rows, {table} {t}"));
        }
    }
    let daily = scalar(
        sink,
        "SELECT CAST(COALESCE(SUM(responses), 0) AS BIGINT) FROM kz_responses_daily",
    )
    .await;
    let responses = scalar(sink, "SELECT COUNT(*) FROM responses").await;
    if daily != responses {
        wrong.push(format!(
            "kz_responses_daily adds up to {daily}, responses has {responses}"
        ));
    }
    let counted = scalar(
        sink,
        "SELECT CAST(COALESCE(SUM(responses), 0) AS BIGINT) FROM kz_answer_counts",
    )
    .await;
    let distributed = scalar(
        sink,
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM answer_distribution",
    )
    .await;
    if counted != distributed {
        wrong.push(format!(
            "kz_answer_counts adds up to {counted}, answer_distribution to {distributed}"
        ));
    }
    wrong
}

/// Collects what [`Sink::export_rows`](kaizala_sink::Sink::export_rows)
/// (or `odata_page`) gives, checking each value fits its column's type.
#[derive(Default)]
pub struct Collect {
    pub columns: Vec<kaizala_sink::ExportColumn>,
    pub rows: Vec<Vec<String>>,
}

impl kaizala_sink::RowWriter for Collect {
    fn columns(&mut self, columns: &[kaizala_sink::ExportColumn]) -> std::io::Result<()> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, values: &[kaizala_sink::Value<'_>]) -> std::io::Result<()> {
        use kaizala_sink::{ColumnType as T, Value as V};
        assert_eq!(values.len(), self.columns.len());
        for (column, value) in self.columns.iter().zip(values) {
            let fits = matches!(
                (column.ty(), value),
                (_, V::Null)
                    | (T::Text | T::Json, V::Text(_))
                    | (T::Integer, V::Integer(_))
                    | (T::Double, V::Double(_))
                    | (T::Boolean, V::Boolean(_))
                    | (T::Timestamp, V::Timestamp(_))
                    | (T::Date, V::Date(_))
                    | (T::Bytes, V::Bytes(_))
            );
            assert!(fits, "{} is {:?}: {value:?}", column.name(), column.ty());
        }
        self.rows
            .push(values.iter().map(|v| format!("{v:?}")).collect());
        Ok(())
    }
}

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

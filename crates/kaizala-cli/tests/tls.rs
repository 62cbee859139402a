//! PostgreSQL over TLS, against a real server with `ssl=on` and a
//! certificate chain made for the run (`cargo xtask test` starts it: a CA,
//! the server's certificate for `localhost` signed by it, and a second CA
//! that signed nothing; `docs/testing.md`).
//!
//! - `sslmode=verify-full` with the right CA: `ingest`, `sync`, `export`
//!   and `dashboard` all work, and every connection the server sees from
//!   them is encrypted;
//! - the wrong CA, a host name the certificate does not list, and
//!   `sslmode=require` against a server without TLS each fail with one line
//!   that names the cause.

mod ingest_support;

use std::time::Duration;

use ingest_support::events::sample_event;
use ingest_support::{Ingest, Kaizala, TestDb, free_port, http_client, kaizala, post_event, text};
use kaizala_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use sqlx::{Connection, Row};

const URL_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_URL";
const CA_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_CA";
const OTHER_CA_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_OTHER_CA";

/// The TLS server's URL (host `localhost`) and the two CA files, or `None`
/// when the test is to be skipped.
fn tls_server() -> Option<(String, String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var(URL_VAR), var(CA_VAR), var(OTHER_CA_VAR)) {
        (Some(url), Some(ca), Some(other)) => Some((url, ca, other)),
        _ if std::env::var("KAIZALA_TEST_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!(
                "{URL_VAR}, {CA_VAR} and {OTHER_CA_VAR} must be set (cargo xtask test sets them)"
            )
        }
        _ => {
            eprintln!("skipped: needs the TLS PostgreSQL of `cargo xtask services`");
            None
        }
    }
}

/// `url` with these query parameters.
fn with_params(url: &str, params: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

/// `url` with its host replaced.
fn with_host(url: &str, host: &str) -> String {
    url.replacen("@localhost:", &format!("@{host}:"), 1)
}

/// `kaizala status --db url` fails, saying `cause` in one line.
fn refused(url: &str, cause: &str) {
    let out = kaizala(&["status", "--db", url]);
    let said = text(&out.stderr);
    assert!(
        !out.status.success(),
        "{url}: connected:\n{}",
        text(&out.stdout)
    );
    assert!(
        said.contains(cause),
        "{url}: expected {cause:?}, got:\n{said}"
    );
    assert_eq!(
        said.trim_end().lines().count(),
        1,
        "{url}: more than one line:\n{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
}

#[test]
fn a_wrong_ca_a_wrong_host_and_no_tls_are_one_line_each() {
    let Some((url, ca, other_ca)) = tls_server() else {
        return;
    };
    refused(
        &with_params(&url, &format!("sslmode=verify-full&sslrootcert={other_ca}")),
        "over TLS: the server's certificate is not signed by a CA trusted here",
    );
    refused(
        &with_params(
            &with_host(&url, "127.0.0.1"),
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        "over TLS: the server's certificate does not name the host 127.0.0.1",
    );
    // Without sslrootcert only public CAs are trusted, and ours is not one.
    refused(
        &with_params(&url, "sslmode=verify-full"),
        "not signed by a CA trusted here: a public CA",
    );
    let plain = ingest_support::postgres_url().expect("the plain PostgreSQL");
    refused(
        &with_params(&plain, "sslmode=require"),
        "over TLS: the server does not accept TLS connections, and sslmode=require requires TLS",
    );
    refused(
        &with_params(&url, "sslmode=verify-all"),
        "sslmode=verify-all is not one of disable, allow, prefer, require, verify-ca, verify-full",
    );
    refused(
        &with_params(&url, "sslmode=verify-full&sslrootcert=/nowhere/ca.pem"),
        "sslrootcert=/nowhere/ca.pem: no such file",
    );
}

/// How many of the server's connections to `database` are encrypted, and
/// how many there are.
async fn encrypted(admin: &str, database: &str) -> (i64, i64) {
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) FILTER (WHERE s.ssl) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.datname = $1",
    )
    .bind(database)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_sync_export_and_dashboard_over_verified_tls() {
    let Some((url, ca, _)) = tls_server() else {
        return;
    };
    sqlx::any::install_default_drivers();
    let admin = with_params(&url, &format!("sslmode=verify-full&sslrootcert={ca}"));
    let db = TestDb::postgres(&admin).await;
    let database = db.url[..db.url.find('?').unwrap()]
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let log_dir = db.dir.path();

    // ingest: events over HTTP, stored and projected over TLS.
    let ingest = Ingest::start(&db.url, free_port(), log_dir, "ingest").await;
    let client = http_client();
    for i in 0..20 {
        let event = sample_event("tls", i, None);
        let status = post_event(&client, &ingest.url(), event.body.clone())
            .await
            .unwrap();
        assert_eq!(status, 200, "{}", ingest.stderr());
    }
    let (tls, all) = encrypted(&admin, &database).await;
    assert!(
        all > 0 && tls == all,
        "{tls} of {all} connections encrypted"
    );
    let sink = db.connect().await;
    ingest_support::caught_up(&sink, Duration::from_secs(60)).await;
    sink.close().await;
    ingest.terminate().await;

    // sync from the emulator into the same database.
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let profile = log_dir.join("profile.json");
    std::fs::write(
        &profile,
        serde_json::to_vec(&emulator.credentials().unwrap()).unwrap(),
    )
    .unwrap();
    let profile = profile.to_str().unwrap().to_owned();
    let db_url = db.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        kaizala(&["sync", "--profile", &profile, "--db", &db_url])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "sync: {}", text(&out.stderr));
    emulator.shutdown().await;

    // export what both wrote.
    let out = kaizala(&[
        "export", "--db", &db.url, "--table", "groups", "--format", "json",
    ]);
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    let groups: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!groups.is_empty(), "no groups exported");
    let out = kaizala(&["export", "--db", &db.url, "--table", "responses"]);
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().count() > 1,
        "no responses exported"
    );

    // dashboard: its data comes over TLS too.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let dashboard = Kaizala::spawn(
        &["dashboard", "--db", &db.url, "--listen", &listen],
        log_dir,
        "dashboard",
    );
    let body = ingest_support::dashboard_data(&listen).await;
    let data: Value = serde_json::from_str(&body).unwrap();
    assert!(data.is_object(), "{body}");
    let (tls, all) = encrypted(&admin, &database).await;
    assert!(
        all > 0 && tls == all,
        "{tls} of {all} connections encrypted"
    );
    let output = dashboard.kill();
    assert!(!output.contains("panicked"), "{output}");

    // --schema puts a second sink beside the first, in the same database.
    let out = kaizala(&[
        "project",
        "--db",
        &db.url,
        "--schema",
        "kz_second",
        "--once",
    ]);
    assert!(
        out.status.success(),
        "project --schema: {}",
        text(&out.stderr)
    );
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let in_schema: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables \
         WHERE table_schema = 'kz_second' AND table_name IN ('events', 'responses')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    conn.close().await.unwrap();
    assert_eq!(in_schema, 2, "--schema made no tables in kz_second");

    // The count can tell: a plain connection shows as one.
    let plain = sqlx::AnyConnection::connect(&with_params(
        &db.url[..db.url.find('?').unwrap()],
        "sslmode=disable",
    ))
    .await
    .unwrap();
    let (tls, all) = encrypted(&admin, &database).await;
    assert!(
        tls < all,
        "a plain connection counted as encrypted ({tls} of {all})"
    );
    plain.close().await.unwrap();
}

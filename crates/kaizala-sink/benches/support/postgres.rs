//! PostgreSQL for the benches: the server `KAIZALA_TEST_POSTGRES_URL`
//! names, throwaway databases on it, and the check that it is durable
//! before anything is measured there.

use sqlx::{AnyConnection, Connection, Row};

/// The variable naming the server (`cargo xtask services` prints it;
/// `cargo xtask bench` starts one when it is not set).
pub const URL_VAR: &str = "KAIZALA_TEST_POSTGRES_URL";

/// The server to run PostgreSQL groups on, or `None` — said on standard
/// error — when there is none, or when `measuring` and it is not durable:
/// a figure from a server that does not sync its commits says nothing of
/// an acknowledged event's cost. A run that only checks (the benches run
/// once as tests) takes any server.
pub async fn server(measuring: bool, bench: &str) -> Option<String> {
    let admin = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            eprintln!(
                "{bench}: PostgreSQL groups skipped: set {URL_VAR} (`cargo xtask services` \
                 prints it; `cargo xtask bench` starts a server itself)"
            );
            return None;
        }
    };
    match not_durable(&admin).await {
        Some(why) if measuring => {
            eprintln!(
                "{bench}: PostgreSQL groups refused: the server runs with {why}, so a commit \
                 is not on disk when it returns; benchmarks of durable ingest need fsync=on \
                 and synchronous_commit on (the cluster `cargo xtask services` starts has both)"
            );
            None
        }
        Some(why) => {
            eprintln!("{bench}: checking only, so a server with {why} will do");
            Some(admin)
        }
        None => Some(admin),
    }
}

/// What makes the server not durable (`fsync=off`, `synchronous_commit=off`),
/// if anything.
pub async fn not_durable(url: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VAR}: {e}"));
    let mut off = Vec::new();
    for setting in ["fsync", "synchronous_commit"] {
        let value: String = sqlx::query(&format!("SHOW {setting}"))
            .fetch_one(&mut conn)
            .await
            .and_then(|row| row.try_get(0))
            .unwrap_or_else(|e| panic!("SHOW {setting}: {e}"));
        if value == "off" {
            off.push(format!("{setting}={value}"));
        }
    }
    let _ = conn.close().await;
    (!off.is_empty()).then(|| off.join(" and "))
}

/// A fresh database named `{prefix}_{pid}` on the server `admin` names: its
/// URL and name.
pub async fn create(admin: &str, prefix: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", std::process::id());
    let mut conn = AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    let start = admin.find("://").unwrap() + 3;
    let end = admin[start..].find('/').map_or(admin.len(), |i| start + i);
    let query = admin.find('?').map_or("", |q| &admin[q..]);
    (format!("{}/{name}{query}", &admin[..end]), name)
}

/// Drops a database [`create`] made.
pub async fn drop(admin: &str, name: &str) {
    let mut conn = AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
}

/// On PostgreSQL, `CHECKPOINT` (all of the server's dirty pages written
/// out and synced), so what comes next does not pay for what came before;
/// nothing on SQLite.
pub async fn checkpoint(pool: &sqlx::AnyPool) {
    let postgres = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres");
    if postgres {
        sqlx::query("CHECKPOINT").execute(pool).await.unwrap();
    }
}

//! The PostgreSQL privileges of a read-only role: what BI tools (Grafana,
//! Power BI, Metabase…) and DBAs want for a dashboard's connection.

use sqlx::Row;

use crate::db::{Backend, Db};
use crate::error::SinkError;

/// `name` as a quoted identifier (`"` doubled), after checking it could be
/// a role's name at all.
fn quoted(name: &str) -> Result<String, SinkError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(SinkError::BadRole {
            role: name.to_owned(),
        });
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// The statements that let `role` read every table and view of the sink in
/// `db` — those there now, and those a rebuild or an upgrade makes later
/// (default privileges of the role running them, which should be the one
/// the sink writes with) — and write nothing.
pub(crate) async fn read_only(db: &Db, role: &str) -> Result<Vec<String>, SinkError> {
    if db.backend != Backend::Postgres {
        return Err(SinkError::NotPostgres {
            what: "GRANTs",
            hint: "an SQLite file is read-only to whoever may only read the file (its \
                   directory must stay writable for the WAL's index)",
        });
    }
    let role = quoted(role)?;
    let row =
        sqlx::query("SELECT CAST(current_database() AS TEXT), CAST(current_schema() AS TEXT)")
            .fetch_one(&db.pool)
            .await
            .map_err(|e| db.error("reading the database's and schema's names", e))?;
    let database: String = row
        .try_get(0)
        .map_err(|e| db.error("reading the database's name", e))?;
    let schema: Option<String> = row
        .try_get(1)
        .map_err(|e| db.error("reading the schema's name", e))?;
    let schema = quoted(&schema.unwrap_or_else(|| "public".to_owned()))?;
    let database = quoted(&database)?;
    Ok(vec![
        format!("GRANT CONNECT ON DATABASE {database} TO {role}"),
        format!("GRANT USAGE ON SCHEMA {schema} TO {role}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"),
        format!("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}"),
    ])
}

/// Runs [`read_only`]'s statements in one transaction; returns them.
pub(crate) async fn grant_read_only(db: &Db, role: &str) -> Result<Vec<String>, SinkError> {
    let statements = read_only(db, role).await?;
    let doing = "granting read-only access";
    let mut tx = db.pool.begin().await.map_err(|e| db.error(doing, e))?;
    for statement in &statements {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(|e| db.error(doing, e))?;
    }
    tx.commit().await.map_err(|e| db.error(doing, e))?;
    Ok(statements)
}

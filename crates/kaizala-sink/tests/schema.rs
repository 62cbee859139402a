//! One declaration per table: SQLite and PostgreSQL end up with the same
//! tables, columns, keys, indexes and views — whether the database was
//! created by this release or upgraded from 0.1 — and those are the
//! declared ones.

mod support;

use std::collections::BTreeMap;

use kaizala_sink::Sink;
use sqlx::Row;
use support::{TestDb, rows_in};

/// A column as both dialects can describe it: the type in one vocabulary
/// (`bigint`, `integer`, `text`, `double`, `bytes`) and whether it may be
/// NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    ty: String,
    not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
    /// Columns (or column lists) unique on their own, besides the key.
    unique: Vec<Vec<String>>,
}

/// A secondary index (not the one behind a key or a UNIQUE constraint).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    /// A partial index's condition, without spaces, parentheses or case.
    filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Schema {
    tables: BTreeMap<String, Table>,
    /// Each view's column names, in order.
    views: BTreeMap<String, Vec<String>>,
    indexes: BTreeMap<String, Index>,
}

/// `(dead_at IS NULL)` and `dead_at IS NULL` alike.
fn condition(sql: &str) -> String {
    sql.chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect::<String>()
        .to_lowercase()
}

fn text(row: &serde_json::Map<String, serde_json::Value>, column: &str) -> String {
    row[column]
        .as_str()
        .unwrap_or_else(|| panic!("{column}: {row:?}"))
        .to_owned()
}

fn number(row: &serde_json::Map<String, serde_json::Value>, column: &str) -> i64 {
    row[column]
        .as_i64()
        .unwrap_or_else(|| panic!("{column}: {row:?}"))
}

/// The tables an SQLite database file keeps in its log file (attached as
/// `log`).
const LOG_FILE: [&str; 5] = [
    "events",
    "pull_log",
    "quarantine",
    "sync_state",
    "log_state",
];

/// What an SQLite database holds, in its file and its log file if it has
/// one (sqlx's and SQLite's own tables aside).
async fn describe_sqlite(pool: &sqlx::AnyPool) -> Schema {
    let mut schema = Schema::default();
    let files: Vec<String> = rows_in(
        pool,
        "SELECT name FROM pragma_database_list WHERE name <> 'temp' ORDER BY seq",
    )
    .await
    .iter()
    .map(|row| text(row, "name"))
    .collect();
    let mut objects = Vec::new();
    for file in &files {
        for object in rows_in(
            pool,
            &format!(
                "SELECT name, type, COALESCE(sql, '') AS sql FROM {file}.sqlite_master \
                 WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' \
                 AND name <> '_sqlx_migrations' ORDER BY name"
            ),
        )
        .await
        {
            let name = text(&object, "name");
            if files.len() > 1 {
                // The layout of an SQLite file: the logs in the log file.
                let expected = if LOG_FILE.contains(&name.as_str()) {
                    "log"
                } else {
                    "main"
                };
                assert_eq!(file, expected, "{name} is in the wrong file");
            }
            objects.push((file.clone(), object));
        }
    }
    for (file, object) in objects {
        let name = text(&object, "name");
        let info = rows_in(
            pool,
            &format!(
                "SELECT name, type, \"notnull\" AS not_null, pk \
                 FROM pragma_table_info('{name}', '{file}') ORDER BY cid"
            ),
        )
        .await;
        if text(&object, "type") == "view" {
            schema
                .views
                .insert(name, info.iter().map(|c| text(c, "name")).collect());
            continue;
        }
        let mut key: Vec<(i64, String)> = info
            .iter()
            .filter(|c| number(c, "pk") > 0)
            .map(|c| (number(c, "pk"), text(c, "name")))
            .collect();
        key.sort();
        // A lone INTEGER key is the rowid: 64 bits, never NULL.
        let rowid = (key.len() == 1).then(|| key[0].1.clone());
        let mut table = Table {
            primary_key: key.into_iter().map(|(_, n)| n).collect(),
            ..Table::default()
        };
        for c in &info {
            let column = text(c, "name");
            let declared = text(c, "type").to_uppercase();
            let is_rowid = declared == "INTEGER" && rowid.as_deref() == Some(column.as_str());
            let ty = match declared.as_str() {
                "INTEGER" if is_rowid => "bigint",
                "INTEGER" => "integer",
                "BIGINT" => "bigint",
                "TEXT" => "text",
                "DOUBLE PRECISION" => "double",
                "BLOB" => "bytes",
                other => panic!("{name}.{column}: type {other} has no counterpart"),
            };
            table.columns.push(Column {
                not_null: number(c, "not_null") == 1 || is_rowid,
                name: column,
                ty: ty.to_owned(),
            });
        }
        let indexes = rows_in(
            pool,
            &format!(
                "SELECT name, \"unique\" AS is_unique, origin \
                 FROM pragma_index_list('{name}', '{file}') ORDER BY name"
            ),
        )
        .await;
        for index in indexes {
            let index_name = text(&index, "name");
            let columns: Vec<String> = rows_in(
                pool,
                &format!(
                    "SELECT name FROM pragma_index_info('{index_name}', '{file}') ORDER BY seqno"
                ),
            )
            .await
            .iter()
            .map(|c| text(c, "name"))
            .collect();
            match text(&index, "origin").as_str() {
                "pk" => {}
                "u" => table.unique.push(columns),
                _ => {
                    let sql = rows_in(
                        pool,
                        &format!(
                            "SELECT sql FROM {file}.sqlite_master WHERE name = '{index_name}'"
                        ),
                    )
                    .await;
                    let sql = text(&sql[0], "sql");
                    let filter = sql
                        .find(" WHERE ")
                        .map(|at| condition(&sql[at + " WHERE ".len()..]));
                    schema.indexes.insert(
                        index_name,
                        Index {
                            table: name.clone(),
                            columns,
                            unique: number(&index, "is_unique") == 1,
                            filter,
                        },
                    );
                }
            }
        }
        table.unique.sort();
        schema.tables.insert(name, table);
    }
    schema
}

/// What a PostgreSQL database holds in its current schema.
async fn describe_postgres(pool: &sqlx::AnyPool) -> Schema {
    let mut schema = Schema::default();
    let objects = rows_in(
        pool,
        "SELECT CAST(table_name AS TEXT) AS name, CAST(table_type AS TEXT) AS type \
         FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .await;
    for object in objects {
        let name = text(&object, "name");
        let columns = rows_in(
            pool,
            &format!(
                "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type, \
                 CAST(is_nullable AS TEXT) AS nullable FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{name}' \
                 ORDER BY ordinal_position"
            ),
        )
        .await;
        if text(&object, "type") == "VIEW" {
            schema
                .views
                .insert(name, columns.iter().map(|c| text(c, "name")).collect());
            continue;
        }
        let mut table = Table::default();
        for c in &columns {
            let column = text(c, "name");
            let ty = match text(c, "type").as_str() {
                "bigint" => "bigint",
                "integer" => "integer",
                "text" => "text",
                "double precision" => "double",
                "bytea" => "bytes",
                other => panic!("{name}.{column}: type {other} has no counterpart"),
            };
            table.columns.push(Column {
                not_null: text(c, "nullable") == "NO",
                name: column,
                ty: ty.to_owned(),
            });
        }
        let constraints = rows_in(
            pool,
            &format!(
                "SELECT CAST(c.conname AS TEXT) AS name, CAST(c.contype AS TEXT) AS kind, \
                 CAST(a.attname AS TEXT) AS column_name \
                 FROM pg_constraint AS c \
                 JOIN pg_class AS t ON t.oid = c.conrelid \
                 JOIN pg_namespace AS n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND t.relname = '{name}' \
                 AND c.contype IN ('p', 'u') ORDER BY c.conname, k.ord"
            ),
        )
        .await;
        let mut unique: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &constraints {
            let column = text(c, "column_name");
            match text(c, "kind").as_str() {
                "p" => table.primary_key.push(column),
                _ => unique.entry(text(c, "name")).or_default().push(column),
            }
        }
        table.unique = unique.into_values().collect();
        table.unique.sort();
        schema.tables.insert(name, table);
    }
    let indexes = rows_in(
        pool,
        "SELECT CAST(ic.relname AS TEXT) AS name, CAST(t.relname AS TEXT) AS table_name, \
         CAST(CASE WHEN i.indisunique THEN 1 ELSE 0 END AS BIGINT) AS is_unique, \
         COALESCE(pg_get_expr(i.indpred, i.indrelid), '') AS filter, \
         CAST(a.attname AS TEXT) AS column_name \
         FROM pg_index AS i \
         JOIN pg_class AS ic ON ic.oid = i.indexrelid \
         JOIN pg_class AS t ON t.oid = i.indrelid \
         JOIN pg_namespace AS n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(CAST(i.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid) \
         ORDER BY ic.relname, k.ord",
    )
    .await;
    for row in indexes {
        let filter = text(&row, "filter");
        let index = schema
            .indexes
            .entry(text(&row, "name"))
            .or_insert_with(|| Index {
                table: text(&row, "table_name"),
                columns: Vec::new(),
                unique: number(&row, "is_unique") == 1,
                filter: (!filter.is_empty()).then(|| condition(&filter)),
            });
        index.columns.push(text(&row, "column_name"));
    }
    schema
}

async fn describe(sink: &Sink) -> Schema {
    match sink.backend() {
        kaizala_sink::Backend::Sqlite => describe_sqlite(sink.pool()).await,
        _ => describe_postgres(sink.pool()).await,
    }
}

/// Where two schemas differ, table by table (one whole-schema diff would
/// be unreadable).
fn differences(left: &Schema, right: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    if names(left) != names(right) {
        found.push(format!(
            "tables: {:?} against {:?}",
            names(left),
            names(right)
        ));
    }
    for (name, table) in &left.tables {
        let Some(other) = right.tables.get(name) else {
            continue;
        };
        if table.columns != other.columns {
            for (a, b) in table.columns.iter().zip(&other.columns) {
                if a != b {
                    found.push(format!("{name}: column {a:?} against {b:?}"));
                }
            }
            if table.columns.len() != other.columns.len() {
                found.push(format!(
                    "{name}: columns {:?} against {:?}",
                    table.columns, other.columns
                ));
            }
        }
        if table.primary_key != other.primary_key {
            found.push(format!(
                "{name}: primary key {:?} against {:?}",
                table.primary_key, other.primary_key
            ));
        }
        if table.unique != other.unique {
            found.push(format!(
                "{name}: unique {:?} against {:?}",
                table.unique, other.unique
            ));
        }
    }
    if left.views != right.views {
        found.push(format!("views: {:?} against {:?}", left.views, right.views));
    }
    for (name, index) in &left.indexes {
        if right.indexes.get(name) != Some(index) {
            found.push(format!(
                "index {name}: {index:?} against {:?}",
                right.indexes.get(name)
            ));
        }
    }
    for name in right.indexes.keys() {
        if !left.indexes.contains_key(name) {
            found.push(format!("index {name}: only on the right"));
        }
    }
    found
}

const LOGS_AND_BOOKKEEPING: [&str; 9] = [
    "events",
    "pull_log",
    "quarantine",
    "log_state",
    "sync_state",
    "sink_state",
    "projection_tables",
    "time_zone_offsets",
    "handler_queue",
];

const VIEWS: [&str; 14] = [
    "answer_distribution",
    "kz_actions",
    "kz_answer_counts",
    "kz_answers",
    "kz_attachments",
    "kz_events",
    "kz_groups",
    "kz_member_changes",
    "kz_members",
    "kz_messages",
    "kz_reactions",
    "kz_responses",
    "kz_responses_daily",
    "responses_per_day",
];

fn column(name: &str, ty: &str, not_null: bool) -> Column {
    Column {
        name: name.to_owned(),
        ty: ty.to_owned(),
        not_null,
    }
}

/// The migrated tables as `src/schema/tables.rs` declares them: the
/// migrations, not the declarations, create these, so they could drift.
fn declared_migrated_tables() -> BTreeMap<&'static str, Table> {
    let table = |columns: Vec<Column>, key: &[&str], unique: &[&str]| Table {
        columns,
        primary_key: key.iter().map(|k| (*k).to_owned()).collect(),
        unique: unique.iter().map(|u| vec![(*u).to_owned()]).collect(),
    };
    BTreeMap::from([
        (
            "events",
            table(
                vec![
                    column("position", "bigint", true),
                    column("event_id", "text", true),
                    column("event_type", "text", true),
                    column("received_at", "bigint", true),
                    column("payload", "text", true),
                ],
                &["position"],
                &["event_id"],
            ),
        ),
        (
            "pull_log",
            table(
                vec![
                    column("position", "bigint", true),
                    column("fetched_at", "bigint", true),
                    column("operation", "text", true),
                    column("group_id", "text", false),
                    column("request", "text", true),
                    column("body", "text", true),
                ],
                &["position"],
                &[],
            ),
        ),
        (
            "quarantine",
            table(
                vec![
                    column("id", "bigint", true),
                    column("body", "bytes", true),
                    column("reason_code", "text", true),
                    column("reason", "text", true),
                    column("received_at", "bigint", true),
                ],
                &["id"],
                &[],
            ),
        ),
        (
            "log_state",
            table(
                vec![
                    column("name", "text", true),
                    column("value", "bigint", true),
                ],
                &["name"],
                &[],
            ),
        ),
        (
            "sync_state",
            table(
                vec![
                    column("sync_key", "text", true),
                    column("cursor_ms", "bigint", false),
                    column("updated_at", "bigint", true),
                ],
                &["sync_key"],
                &[],
            ),
        ),
        (
            "sink_state",
            table(
                vec![
                    column("name", "text", true),
                    column("value", "bigint", false),
                    column("detail", "text", false),
                    column("updated_at", "bigint", false),
                ],
                &["name"],
                &[],
            ),
        ),
        (
            "time_zone_offsets",
            table(
                vec![
                    column("starts_at", "bigint", true),
                    column("offset_ms", "bigint", true),
                ],
                &["starts_at"],
                &[],
            ),
        ),
        (
            "projection_tables",
            table(
                vec![
                    column("table_name", "text", true),
                    column("version", "bigint", true),
                    column("fingerprint", "text", true),
                    column("built_at", "bigint", true),
                    column("built_to", "bigint", true),
                ],
                &["table_name"],
                &[],
            ),
        ),
        (
            "handler_queue",
            table(
                vec![
                    column("event_id", "text", true),
                    column("position", "bigint", true),
                    column("attempts", "integer", true),
                    column("due_at", "bigint", false),
                    column("dead_at", "bigint", false),
                    column("last_error", "text", false),
                ],
                &["event_id"],
                &[],
            ),
        ),
    ])
}

/// Where the schema of `sink` is not the declared one: exactly the
/// declared tables and views, the migrated tables as declared.
async fn undeclared(sink: &Sink, schema: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let status = sink.status().await.unwrap();
    let projected: Vec<&str> = status.tables.iter().map(|t| t.name).collect();
    if projected.len() != 11 {
        found.push(format!("status lists {projected:?}"));
    }
    let mut expected: Vec<&str> = LOGS_AND_BOOKKEEPING.into_iter().chain(projected).collect();
    expected.sort();
    let tables: Vec<&str> = schema.tables.keys().map(String::as_str).collect();
    if tables != expected {
        found.push(format!("tables {tables:?}, declared {expected:?}"));
    }
    let views: Vec<&str> = schema.views.keys().map(String::as_str).collect();
    if views != VIEWS {
        found.push(format!("views {views:?}, declared {VIEWS:?}"));
    }
    let declared = Schema {
        tables: declared_migrated_tables()
            .into_iter()
            .map(|(n, t)| (n.to_owned(), t))
            .collect(),
        ..Schema::default()
    };
    let migrated = Schema {
        tables: schema
            .tables
            .iter()
            .filter(|(n, _)| LOGS_AND_BOOKKEEPING.contains(&n.as_str()))
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect(),
        ..Schema::default()
    };
    found.extend(
        differences(&migrated, &declared)
            .into_iter()
            .map(|d| format!("not as declared: {d}")),
    );
    let queue: Vec<(&str, &Index)> = schema
        .indexes
        .iter()
        .filter(|(_, i)| i.table == "handler_queue")
        .map(|(n, i)| (n.as_str(), i))
        .collect();
    let due = Index {
        table: "handler_queue".into(),
        columns: vec!["due_at".into(), "position".into()],
        unique: false,
        filter: Some(condition("dead_at IS NULL")),
    };
    let dead = Index {
        filter: Some(condition("dead_at IS NOT NULL")),
        columns: vec!["dead_at".into(), "position".into()],
        ..due.clone()
    };
    if queue != vec![("handler_queue_dead", &dead), ("handler_queue_due", &due)] {
        found.push(format!("the handler queue's indexes: {queue:?}"));
    }
    for (name, index) in &schema.indexes {
        if !name.starts_with(index.table.as_str()) {
            found.push(format!(
                "index {name} is not named after its table {}",
                index.table
            ));
        }
    }
    found.extend(
        schema
            .tables
            .keys()
            .filter(|t| t.ends_with("__new"))
            .map(|t| format!("a rebuild's table is left: {t}")),
    );
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_databases_of_both_dialects_have_the_declared_schema() {
    // Every finding of every database, listed before failing.
    let mut found = Vec::new();
    let mut schemas = Vec::new();
    for db in support::databases().await {
        let sink = db.connect().await;
        let schema = describe(&sink).await;
        // The introspection itself sees the projected tables' details.
        assert!(schema.tables["responses"].columns.len() > 10, "{}", db.kind);
        assert!(
            schema.indexes.contains_key("answers_action_question"),
            "{}",
            db.kind
        );
        found.extend(
            undeclared(&sink, &schema)
                .await
                .into_iter()
                .map(|f| format!("fresh {}: {f}", db.kind)),
        );
        schemas.push(schema);
        sink.close().await;
    }
    if let [sqlite, postgres] = &schemas[..] {
        found.extend(
            differences(sqlite, postgres)
                .into_iter()
                .map(|d| format!("SQLite against PostgreSQL: {d}")),
        );
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every 0.1 fixture, upgraded (and projected, which rebuilds its tables),
/// in each dialect.
async fn upgraded() -> Vec<(String, TestDb)> {
    let mut dbs = Vec::new();
    for fixture in ["demo-0.1.db", "synced-0.1.db"] {
        dbs.push((
            format!("{fixture} upgraded on sqlite"),
            TestDb::sqlite_copy(fixture).await,
        ));
        if let Some(db) = TestDb::postgres_0_1(fixture).await {
            dbs.push((format!("{fixture} upgraded on postgres"), db));
        }
    }
    dbs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgraded_databases_have_the_schema_of_fresh_ones() {
    let mut fresh = BTreeMap::new();
    for db in support::databases().await {
        let sink = db.connect().await;
        fresh.insert(db.kind, describe(&sink).await);
        sink.close().await;
    }
    let mut found = Vec::new();
    let mut upgraded_schemas = BTreeMap::new();
    for (what, db) in upgraded().await {
        let sink = db.connect().await;
        sink.project().await.unwrap();
        let schema = describe(&sink).await;
        // The 0.1 shapes are gone: a column 0.2 dropped, one it added.
        let has = |table: &str, column: &str| {
            schema.tables[table]
                .columns
                .iter()
                .any(|c| c.name == column)
        };
        assert!(!has("events", "handled_at"), "{what}");
        assert!(has("members", "listed_at"), "{what}");
        found.extend(
            undeclared(&sink, &schema)
                .await
                .into_iter()
                .map(|f| format!("{what}: {f}")),
        );
        found.extend(
            differences(&schema, &fresh[db.kind])
                .into_iter()
                .map(|d| format!("{what}, against a fresh database: {d}")),
        );
        upgraded_schemas.insert(what, schema);
        sink.close().await;
    }
    for fixture in ["demo-0.1.db", "synced-0.1.db"] {
        let sqlite = &upgraded_schemas[&format!("{fixture} upgraded on sqlite")];
        if let Some(postgres) = upgraded_schemas.get(&format!("{fixture} upgraded on postgres")) {
            found.extend(
                differences(sqlite, postgres)
                    .into_iter()
                    .map(|d| format!("{fixture} upgraded, SQLite against PostgreSQL: {d}")),
            );
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A PostgreSQL database built by `TestDb::postgres_0_1` is what the 0.1
/// sink would have made: sqlx recorded its one migration, and the copy
/// holds the fixture's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_0_1_databases_are_faithful() {
    let Some(db) = TestDb::postgres_0_1("demo-0.1.db").await else {
        return;
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let applied = sqlx::query("SELECT version, checksum FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(applied.len(), 1);
    let checksum: Vec<u8> = applied[0].get(1);
    let sqlite = TestDb::sqlite_copy("demo-0.1.db").await;
    let fixture = support::raw_sqlite(&sqlite.sqlite_path()).await;
    let released: Vec<u8> = sqlx::query("SELECT checksum FROM _sqlx_migrations")
        .fetch_one(&fixture)
        .await
        .unwrap()
        .get(0);
    assert_ne!(checksum, released, "the dialects' migrations differ");
    let expected = sqlx::migrate::Migration::new(
        1,
        "schema".into(),
        sqlx::migrate::MigrationType::Simple,
        include_str!("fixtures/postgres-0.1/0001_schema.sql").into(),
        false,
    );
    assert_eq!(checksum, expected.checksum.to_vec());
    for table in support::TABLES_0_1 {
        let count = format!("SELECT COUNT(*) AS n FROM {table}");
        assert_eq!(
            rows_in(&pool, &count).await,
            rows_in(&fixture, &count).await,
            "{table}"
        );
    }
    pool.close().await;
    // Upgrading it checks the checksum: a 0.1 database that sqlx would
    // not recognise fails here.
    db.connect().await.close().await;
}

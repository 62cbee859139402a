//! The baseline of the rebuild bench: the rows a rebuild wrote, inserted
//! directly into a fresh set of the same tables — plain multi-row `INSERT`s
//! (64 rows a statement; a remainder in statements of 16, 4 and 1 rows),
//! no upserts, no reading of the log, no JSON — then the same secondary
//! indexes built, as a rebuild builds them after filling its tables.
//!
//! Parameters are written as the sink writes them: `$1, $2, …` on
//! PostgreSQL, `?` on SQLite (sqlx's SQLite driver looks every `$n` up by
//! name, a linear search per parameter, which costs a 64-row statement of
//! 16 columns more than the insert).
//!
//! The rows are read back from the rebuilt tables before the clock starts,
//! so they are exactly the rebuild's, value for value, whatever the
//! projection rules are; the tables' columns, types, keys and indexes are
//! read from the database, so they are the schema's of this release.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Connection, Row};

/// Rows per multi-row `INSERT`.
pub const ROWS_PER_STATEMENT: usize = 64;

/// A column's type, as far as binding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `TEXT`.
    Text,
    /// `BIGINT`, `INTEGER`.
    Int,
    /// `DOUBLE PRECISION`.
    Float,
}

/// A value to bind.
#[derive(Debug, Clone)]
pub enum V {
    /// Text, or NULL.
    T(Option<String>),
    /// An integer, or NULL.
    I(Option<i64>),
    /// A double, or NULL.
    F(Option<f64>),
}

/// A projected table: its shape, and its rows (flattened, row after row).
#[derive(Debug)]
pub struct Table {
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<(String, Kind, bool)>,
    /// `PRIMARY KEY (…)`.
    pub key: String,
    /// Its secondary indexes: name, and what follows `ON table` in their
    /// definition (`(cols) [WHERE …]`, or `USING btree (cols)`).
    pub indexes: Vec<(String, String)>,
    /// Every value of every row.
    pub values: Vec<V>,
}

impl Table {
    /// Rows held.
    pub fn rows(&self) -> usize {
        self.values.len() / self.columns.len().max(1)
    }
}

/// The projected tables of the sink's database (from its bookkeeping).
pub async fn projected_tables(conn: &mut AnyConnection) -> Vec<String> {
    sqlx::query("SELECT table_name FROM projection_tables ORDER BY table_name")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap())
        .collect()
}

fn kind(declared: &str) -> Kind {
    match declared.to_ascii_uppercase().as_str() {
        "TEXT" => Kind::Text,
        "BIGINT" | "INTEGER" => Kind::Int,
        "DOUBLE PRECISION" => Kind::Float,
        other => panic!("no binding for a column of type {other}"),
    }
}

/// Reads `name`'s shape and every row.
pub async fn read(conn: &mut AnyConnection, sqlite: bool, name: &str) -> Table {
    let strings = |rows: Vec<sqlx::any::AnyRow>, n: usize| -> Vec<Vec<String>> {
        rows.iter()
            .map(|row| {
                (0..n)
                    .map(|i| row.try_get::<String, _>(i).unwrap())
                    .collect()
            })
            .collect()
    };
    let (columns, key, indexes) = if sqlite {
        let info = sqlx::query(
            "SELECT name, type, CAST(\"notnull\" AS TEXT), CAST(pk AS TEXT) \
             FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let info = strings(info, 4);
        let columns = info
            .iter()
            .map(|c| (c[0].clone(), kind(&c[1]), c[2] == "1"))
            .collect();
        let mut key: Vec<(i64, String)> = info
            .iter()
            .filter(|c| c[3] != "0")
            .map(|c| (c[3].parse().unwrap(), c[0].clone()))
            .collect();
        key.sort();
        let key = key.into_iter().map(|(_, c)| c).collect::<Vec<_>>();
        let indexes = sqlx::query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
             AND sql IS NOT NULL ORDER BY name",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        (
            columns,
            format!("PRIMARY KEY ({})", key.join(", ")),
            strings(indexes, 2),
        )
    } else {
        let info = sqlx::query(
            "SELECT column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let columns = strings(info, 3)
            .into_iter()
            .map(|c| (c[0].clone(), kind(&c[1]), c[2] == "NO"))
            .collect();
        let key: String = sqlx::query(
            "SELECT pg_get_constraintdef(oid)::text FROM pg_constraint \
             WHERE conrelid = $1::regclass AND contype = 'p'",
        )
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        let indexes = sqlx::query(
            "SELECT indexname::text, indexdef::text FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let indexes = strings(indexes, 2)
            .into_iter()
            .filter(|i| !i[0].ends_with("_pkey"))
            .collect();
        (columns, key, indexes)
    };
    let indexes = indexes
        .into_iter()
        .map(|i| {
            // `CREATE INDEX n ON [schema.]table …`: keep what follows the table.
            let after_on = i[1]
                .split_once(" ON ")
                .unwrap_or_else(|| panic!("an index definition: {}", i[1]))
                .1;
            let rest = after_on.split_once(' ').map_or("", |(_, rest)| rest);
            (i[0].clone(), rest.to_owned())
        })
        .collect();
    let mut table = Table {
        name: name.to_owned(),
        columns,
        key,
        indexes,
        values: Vec::new(),
    };
    let sql = format!("SELECT {} FROM {name}", column_list(&table.columns));
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.unwrap() {
        for (i, (_, kind, _)) in table.columns.iter().enumerate() {
            table.values.push(match kind {
                Kind::Text => V::T(row.try_get(i).unwrap()),
                Kind::Int => V::I(row.try_get(i).unwrap()),
                Kind::Float => V::F(row.try_get(i).unwrap()),
            });
        }
    }
    table
}

/// The name the baseline fills for `table`.
pub fn bare_name(table: &str) -> String {
    format!("bare_{table}")
}

/// How long the baseline took.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Creating the tables and inserting every row.
    pub insert: Duration,
    /// Building the secondary indexes.
    pub indexes: Duration,
    /// Of `insert`, the statements of each table (commits apart).
    pub per_table: Vec<(String, Duration)>,
}

/// Creates `bare_{table}` for each table (columns and primary key, no
/// secondary index), inserts every row in `transactions` transactions
/// (each an equal slice of every table), then builds the indexes.
pub async fn insert(
    conn: &mut AnyConnection,
    sqlite: bool,
    tables: &[Table],
    transactions: usize,
) -> Timing {
    let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
    let started = Instant::now();
    create(conn, sqlite, tables).await;
    let transactions = transactions.max(1);
    let mut per_table = zero_per_table(tables);
    for t in 0..transactions {
        let mut tx = conn.begin_with(begin).await.unwrap();
        for (table, spent) in tables.iter().zip(&mut per_table) {
            let cols = table.columns.len();
            let (from, to) = slice(table, t, transactions);
            let statements = Instant::now();
            insert_rows(
                &mut tx,
                sqlite,
                &bare_name(&table.name),
                &table.columns,
                &table.values[from * cols..to * cols],
            )
            .await;
            spent.1 += statements.elapsed();
        }
        tx.commit().await.unwrap();
    }
    let insert = started.elapsed();
    let indexes = build_indexes(conn, begin, tables).await;
    Timing {
        insert,
        indexes,
        per_table,
    }
}

/// As [`insert`] on PostgreSQL, but each transaction's rows go in by
/// `COPY … FROM STDIN` (text format), one per table, on `pg` — the
/// cheapest way PostgreSQL takes rows in, which the `Any` driver the sink
/// uses cannot speak. `conn` (the same database) creates the tables and
/// builds the indexes.
pub async fn copy(
    conn: &mut AnyConnection,
    pg: &mut sqlx::PgConnection,
    tables: &[Table],
    transactions: usize,
) -> Timing {
    let started = Instant::now();
    create(conn, false, tables).await;
    let transactions = transactions.max(1);
    let mut per_table = zero_per_table(tables);
    for t in 0..transactions {
        let mut tx = pg.begin().await.unwrap();
        for (table, spent) in tables.iter().zip(&mut per_table) {
            let cols = table.columns.len();
            let (from, to) = slice(table, t, transactions);
            if from == to {
                continue;
            }
            let statements = Instant::now();
            let list = column_list(&table.columns);
            let text: String = table.values[from * cols..to * cols]
                .chunks(cols)
                .map(|row| {
                    let fields: Vec<String> = row.iter().map(copy_value).collect();
                    fields.join("\t") + "\n"
                })
                .collect();
            let mut sink = tx
                .copy_in_raw(&format!(
                    "COPY {} ({list}) FROM STDIN",
                    bare_name(&table.name)
                ))
                .await
                .unwrap();
            sink.send(text.into_bytes()).await.unwrap();
            sink.finish().await.unwrap();
            spent.1 += statements.elapsed();
        }
        tx.commit().await.unwrap();
    }
    let insert = started.elapsed();
    let indexes = build_indexes(conn, "BEGIN", tables).await;
    Timing {
        insert,
        indexes,
        per_table,
    }
}

/// `v` in `COPY`'s text format.
fn copy_value(v: &V) -> String {
    match v {
        V::T(None) | V::I(None) | V::F(None) => "\\N".to_owned(),
        V::I(Some(i)) => i.to_string(),
        V::F(Some(f)) => f.to_string(),
        V::T(Some(s)) => s
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r"),
    }
}

/// Rows `[from, to)` of `table` that transaction `t` of `transactions` writes.
fn slice(table: &Table, t: usize, transactions: usize) -> (usize, usize) {
    let rows = table.rows();
    (rows * t / transactions, rows * (t + 1) / transactions)
}

fn zero_per_table(tables: &[Table]) -> Vec<(String, Duration)> {
    tables
        .iter()
        .map(|t| (t.name.clone(), Duration::ZERO))
        .collect()
}

/// `a, b, c`: the names of `columns`.
pub fn column_list(columns: &[(String, Kind, bool)]) -> String {
    columns
        .iter()
        .map(|c| c.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// (Re)creates `bare_{table}` for each of `tables`: its columns and
/// primary key, no secondary index.
async fn create(conn: &mut AnyConnection, sqlite: bool, tables: &[Table]) {
    for table in tables {
        let bare = bare_name(&table.name);
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(name, kind, not_null)| {
                let ty = match kind {
                    Kind::Text => "TEXT",
                    Kind::Int if sqlite => "INTEGER",
                    Kind::Int => "BIGINT",
                    Kind::Float => "DOUBLE PRECISION",
                };
                format!("{name} {ty}{}", if *not_null { " NOT NULL" } else { "" })
            })
            .collect();
        sqlx::query(&format!("DROP TABLE IF EXISTS {bare}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query(&format!(
            "CREATE TABLE {bare} ({}, {})",
            columns.join(", "),
            table.key
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
}

/// Builds every table's secondary indexes on its bare copy, in one
/// transaction; how long that took.
async fn build_indexes(
    conn: &mut AnyConnection,
    begin: &'static str,
    tables: &[Table],
) -> Duration {
    let started = Instant::now();
    let mut tx = conn.begin_with(begin).await.unwrap();
    for table in tables {
        let bare = bare_name(&table.name);
        for (name, rest) in &table.indexes {
            sqlx::query(&format!("CREATE INDEX bare_{name} ON {bare} {rest}"))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    started.elapsed()
}

async fn insert_rows(
    conn: &mut AnyConnection,
    sqlite: bool,
    target: &str,
    columns: &[(String, Kind, bool)],
    mut values: &[V],
) {
    let cols = columns.len();
    let list = column_list(columns);
    while !values.is_empty() {
        let rows = values.len() / cols;
        let size = [ROWS_PER_STATEMENT, 16, 4, 1]
            .into_iter()
            .find(|s| *s <= rows)
            .unwrap();
        let (chunk, rest) = values.split_at(size * cols);
        values = rest;
        let placeholders: Vec<String> = (0..size)
            .map(|r| {
                let ps: Vec<String> = (0..cols)
                    .map(|c| {
                        if sqlite {
                            "?".to_owned()
                        } else {
                            format!("${}", r * cols + c + 1)
                        }
                    })
                    .collect();
                format!("({})", ps.join(","))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {target} ({list}) VALUES {}",
            placeholders.join(",")
        );
        let mut query = sqlx::query(&sql);
        for v in chunk {
            query = match v {
                V::T(s) => query.bind(s.as_deref()),
                V::I(i) => query.bind(*i),
                V::F(Some(f)) => query.bind(*f),
                // sqlx 0.8.6's Any driver swaps the types of NULL f32 and
                // f64 (see kaizala-sink's write.rs): this binds a NULL
                // DOUBLE PRECISION.
                V::F(None) => query.bind(None::<f32>),
            };
        }
        query.execute(&mut *conn).await.unwrap();
    }
}

//! Reading tables whole, whichever the backend: rows of typed cells, and
//! snapshots of every projected table to compare row for row.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use kaizala_sink::Sink;
use sqlx::any::AnyRow;
use sqlx::{Column, Row, ValueRef};

/// One value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn read(row: &AnyRow, index: usize) -> Cell {
        use sqlx::any::AnyTypeInfoKind as K;
        let raw = row.try_get_raw(index).unwrap();
        if raw.is_null() {
            return Cell::Null;
        }
        match raw.type_info().kind() {
            K::SmallInt | K::Integer | K::BigInt => Cell::Int(row.try_get(index).unwrap()),
            K::Real | K::Double => Cell::Float(row.try_get(index).unwrap()),
            K::Bool => Cell::Bool(row.try_get(index).unwrap()),
            K::Blob => Cell::Bytes(row.try_get(index).unwrap()),
            K::Text => Cell::Text(row.try_get(index).unwrap()),
            K::Null => Cell::Null,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(n) => Some(*n),
            Cell::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn float(&self) -> Option<f64> {
        match self {
            Cell::Float(f) => Some(*f),
            Cell::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        *self == Cell::Null
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(n) => write!(f, "{n}"),
            // `{:?}` of a float reads back as the same float.
            Cell::Float(x) => write!(f, "{x:?}"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Text(t) => write!(f, "{t:?}"),
            Cell::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

/// Every row of a query; the column names (empty when there is no row).
pub async fn fetch(sink: &Sink, sql: &str) -> (Vec<String>, Vec<Vec<Cell>>) {
    let rows = sqlx::query(sql)
        .fetch_all(sink.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let columns = rows.first().map_or_else(Vec::new, |row| {
        row.columns().iter().map(|c| c.name().to_owned()).collect()
    });
    let cells = rows
        .iter()
        .map(|row| (0..row.len()).map(|i| Cell::read(row, i)).collect())
        .collect();
    (columns, cells)
}

/// Every row of a query.
pub async fn rows(sink: &Sink, sql: &str) -> Vec<Vec<Cell>> {
    fetch(sink, sql).await.1
}

/// One table: its columns and its rows, sorted (the key columns come first
/// in every projected table, so this is key order).
#[derive(Debug, Clone, PartialEq)]
pub struct TableSnapshot {
    pub columns: Vec<String>,
    pub rows: Vec<String>,
}

/// Every projected table (as `Sink::status` lists them), all rows, all
/// columns.
pub async fn snapshot(sink: &Sink) -> BTreeMap<String, TableSnapshot> {
    let status = sink.status().await.unwrap();
    let mut tables = BTreeMap::new();
    for table in &status.tables {
        let (columns, mut cells) = fetch(sink, &format!("SELECT * FROM {}", table.name)).await;
        cells.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
        let rows = cells
            .iter()
            .map(|row| {
                row.iter()
                    .map(Cell::to_string)
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        tables.insert(table.name.to_owned(), TableSnapshot { columns, rows });
    }
    tables
}

/// Where two snapshots differ (`None`: nowhere), `a` and `b` naming them.
pub fn diff(
    a: &BTreeMap<String, TableSnapshot>,
    b: &BTreeMap<String, TableSnapshot>,
    names: (&str, &str),
) -> Option<String> {
    let mut out = String::new();
    let tables: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for table in tables {
        let (Some(x), Some(y)) = (a.get(table), b.get(table)) else {
            out.push_str(&format!("{table}: only in one of them\n"));
            continue;
        };
        if x == y {
            continue;
        }
        if !x.columns.is_empty() && !y.columns.is_empty() && x.columns != y.columns {
            out.push_str(&format!(
                "{table}: columns differ: {:?} vs {:?}\n",
                x.columns, y.columns
            ));
        }
        let only = |p: &TableSnapshot, q: &TableSnapshot| -> Vec<String> {
            let q: std::collections::BTreeSet<&String> = q.rows.iter().collect();
            p.rows.iter().filter(|r| !q.contains(r)).cloned().collect()
        };
        let (in_x, in_y) = (only(x, y), only(y, x));
        out.push_str(&format!(
            "{table}: {} rows {} vs {} rows {}; {} only {}, {} only {} (columns {})\n",
            x.rows.len(),
            names.0,
            y.rows.len(),
            names.1,
            in_x.len(),
            names.0,
            in_y.len(),
            names.1,
            x.columns.join(", ")
        ));
        for r in in_x.iter().take(8) {
            out.push_str(&format!("  {}: {r}\n", names.0));
        }
        for r in in_y.iter().take(8) {
            out.push_str(&format!("  {}: {r}\n", names.1));
        }
    }
    (!out.is_empty()).then_some(out)
}

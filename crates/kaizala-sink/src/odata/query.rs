//! An OData query of one entity set (a `kz_*` view) as parameterised SQL.
//!
//! Each backend's SQL keeps the view's values comparable with the bound
//! literals:
//!
//! - a time column (`*_at`) compared with a DateTimeOffset compares with
//!   the instant's epoch milliseconds as the view writes a time
//!   ([`view_time`], the rule incremental exports use for cursors);
//! - a date column with a date: text `YYYY-MM-DD` on SQLite, a `date` on
//!   PostgreSQL;
//! - a flag with `true`/`false`: 0/1 on SQLite, a `boolean` on PostgreSQL;
//! - `eq null` and `ne null` are `IS NULL` and `IS NOT NULL`; other
//!   comparisons with `null` are refused;
//! - `contains`, `startswith` and `endswith` are `LIKE` with the pattern
//!   bound and its `%`, `_` and `\` escaped (`ESCAPE '\'`). PostgreSQL's
//!   `LIKE` is case-sensitive, as OData's functions are; SQLite's ignores
//!   the case of ASCII letters (its default `case_sensitive_like=OFF`).
//! - `not` follows OData, where a comparison with a missing value is
//!   false: `not (x gt 1)` holds where `x` is `NULL`.
//!
//! [`view_time`]: crate::schema::view_time

use super::EntitySet;
use super::ODataError;
use super::filter::{CompareOp, Expr, Function, Literal};
use crate::db::Backend;
use crate::export::{ColumnType, Declared};
use crate::schema::{readable_column, view_time};
use crate::write::Arg;

/// The query options of a request, as their text (`None` when absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions<'a> {
    /// `$select`: `*` or column names separated by commas.
    pub select: Option<&'a str>,
    /// `$filter` ([`Expr::parse`]).
    pub filter: Option<&'a str>,
    /// `$orderby`: `column [asc|desc]`, separated by commas.
    pub orderby: Option<&'a str>,
    /// `$top`: at most this many rows.
    pub top: Option<&'a str>,
    /// `$skip`: skip this many rows first.
    pub skip: Option<&'a str>,
    /// `$count`: `true` or `false`.
    pub count: Option<&'a str>,
}

/// SQL and the values bound to its parameters `$1, $2, …`.
#[derive(Debug, Clone)]
pub struct Sql {
    sql: String,
    args: Vec<Arg>,
}

impl Sql {
    /// The SQL text, with `$1, $2, …` where values are bound.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// How many values are bound.
    pub fn parameters(&self) -> usize {
        self.args.len()
    }

    /// The values bound, in order.
    pub(crate) fn args(&self) -> &[Arg] {
        &self.args
    }

    /// An sqlx query of it with its values bound, for [`Sink::pool`].
    ///
    /// [`Sink::pool`]: crate::Sink::pool
    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        crate::write::query(&self.sql, self.args.clone())
    }
}

/// A query of one entity set with its options, checked against the
/// entity set's properties and made into SQL for one backend.
#[derive(Debug, Clone)]
pub struct ODataQuery {
    backend: Backend,
    entity_set: String,
    columns: Vec<String>,
    types: Declared,
    count: bool,
    top: Option<u64>,
    skip: u64,
    /// `SELECT … WHERE … ORDER BY …`, without a page.
    rows: Sql,
    select: Sql,
    count_sql: Sql,
}

impl ODataQuery {
    /// A query of the stable view `entity_set` with `options`, its SQL in
    /// `backend`'s dialect ([`ODataQuery::of`] with
    /// [`EntitySet::stable`]). An [`ODataError`] for an unknown entity set
    /// or column, a malformed option, or a filter that does not parse or
    /// type.
    pub fn new(
        backend: Backend,
        entity_set: &str,
        options: &QueryOptions<'_>,
    ) -> Result<ODataQuery, ODataError> {
        let set = EntitySet::stable(entity_set).ok_or_else(|| ODataError::UnknownEntitySet {
            name: entity_set.to_owned(),
        })?;
        ODataQuery::of(backend, &set, options)
    }

    /// A query of `set` with `options`, its SQL in `backend`'s dialect.
    /// Rows come in the order of `$orderby` and then of the set's key, so
    /// that pages of it neither overlap nor leave rows out. An
    /// [`ODataError`] for an unknown column, a malformed option, or a
    /// filter that does not parse or type.
    pub fn of(
        backend: Backend,
        set: &EntitySet,
        options: &QueryOptions<'_>,
    ) -> Result<ODataQuery, ODataError> {
        let name = quoted(set.name());
        let mut sql = Gen {
            backend,
            set,
            args: Vec::new(),
        };
        let columns = sql.select(options.select)?;
        let filter = match options.filter {
            Some(text) => {
                let expr = Expr::parse(text)?;
                format!(" WHERE {}", sql.condition(&expr)?)
            }
            None => String::new(),
        };
        let order = sql.order(options.orderby)?;
        let count = match options.count.map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ODataError::BadOption {
                    option: "$count",
                    message: format!("'{other}' is neither true nor false"),
                });
            }
        };
        let count_sql = Sql {
            sql: format!("SELECT COUNT(*) FROM {name}{filter}"),
            args: sql.args.clone(),
        };
        let top = number("$top", options.top)?;
        let skip = number("$skip", options.skip)?.unwrap_or(0);
        let mut types = Declared::default();
        let list: Vec<String> = columns
            .iter()
            .map(|(column, ty)| {
                types.push(column.clone(), *ty);
                readable_column(backend, &quoted(column), *ty)
            })
            .collect();
        let rows = Sql {
            sql: format!("SELECT {} FROM {name}{filter}{order}", list.join(", ")),
            args: sql.args,
        };
        let select = page(backend, &rows, top, skip);
        Ok(ODataQuery {
            backend,
            entity_set: set.name().to_owned(),
            columns: columns.into_iter().map(|(column, _)| column).collect(),
            types,
            count,
            top,
            skip,
            rows,
            select,
            count_sql,
        })
    }

    /// The entity set (view) it reads.
    pub fn entity_set(&self) -> &str {
        &self.entity_set
    }

    /// The columns it selects, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether `$count=true` asked for the number of matching rows.
    pub fn wants_count(&self) -> bool {
        self.count
    }

    /// `$top`, if given.
    pub fn top(&self) -> Option<u64> {
        self.top
    }

    /// The rows: `SELECT` with the filter, the order and the page of
    /// `$top` and `$skip`.
    pub fn select_sql(&self) -> &Sql {
        &self.select
    }

    /// A page of the rows [`select_sql`](Self::select_sql) gives: at most
    /// `limit` of them, after the first `served` (which earlier pages
    /// gave); fewer where `$top` ends first.
    pub fn page_sql(&self, served: u64, limit: u64) -> Sql {
        let left = self.top.map_or(limit, |top| top.saturating_sub(served));
        page(
            self.backend,
            &self.rows,
            Some(limit.min(left)),
            self.skip.saturating_add(served),
        )
    }

    /// How many rows match the filter, whatever the page:
    /// `SELECT COUNT(*)`.
    pub fn count_sql(&self) -> &Sql {
        &self.count_sql
    }

    /// The declared types of the columns it selects.
    pub(crate) fn types(&self) -> &Declared {
        &self.types
    }
}

/// `name` as an SQL identifier: quoted, since a pivot's column is named
/// after a question's title, which may be an SQL keyword (`group`,
/// `order`).
fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// `$top` or `$skip`'s number.
fn number(option: &'static str, text: Option<&str>) -> Result<Option<u64>, ODataError> {
    text.map(|text| {
        text.trim()
            .parse::<u32>()
            .map(u64::from)
            .map_err(|_| ODataError::BadOption {
                option,
                message: format!("'{text}' is not a non-negative integer"),
            })
    })
    .transpose()
}

/// `rows` limited to `top` rows after the first `skip`.
fn page(backend: Backend, rows: &Sql, top: Option<u64>, skip: u64) -> Sql {
    let mut args = rows.args.clone();
    let mut bind = |n: u64| {
        args.push(Arg::Int(Some(i64::try_from(n).unwrap_or(i64::MAX))));
        format!("${}", args.len())
    };
    let mut sql = rows.sql.clone();
    match (top, backend) {
        (Some(n), _) => sql.push_str(&format!(" LIMIT {}", bind(n))),
        // SQLite has no OFFSET without a LIMIT.
        (None, Backend::Sqlite) if skip > 0 => sql.push_str(" LIMIT -1"),
        _ => {}
    }
    if skip > 0 {
        sql.push_str(&format!(" OFFSET {}", bind(skip)));
    }
    Sql { sql, args }
}

/// Builds the SQL of one query, binding as it goes.
struct Gen<'s> {
    backend: Backend,
    set: &'s EntitySet,
    args: Vec<Arg>,
}

impl Gen<'_> {
    /// Binds `arg`, returning its placeholder.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// The property `name`: its name and type.
    fn column(&self, name: &str) -> Result<(String, ColumnType), ODataError> {
        self.set
            .property(name)
            .map(|(n, ty)| (n.to_owned(), ty))
            .ok_or_else(|| ODataError::UnknownColumn {
                entity_set: self.set.name().to_owned(),
                column: name.to_owned(),
            })
    }

    fn select(&self, select: Option<&str>) -> Result<Vec<(String, ColumnType)>, ODataError> {
        let text = select.map(str::trim).unwrap_or("*");
        if text == "*" || text.is_empty() {
            return Ok(self.set.properties().to_vec());
        }
        let mut columns: Vec<(String, ColumnType)> = Vec::new();
        for name in text.split(',') {
            let column = self.column(name.trim())?;
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
        Ok(columns)
    }

    fn order(&self, orderby: Option<&str>) -> Result<String, ODataError> {
        let bad = |message: String| ODataError::BadOption {
            option: "$orderby",
            message,
        };
        let mut keys = Vec::new();
        let mut named = Vec::new();
        for item in orderby.into_iter().flat_map(|text| text.split(',')) {
            let words: Vec<&str> = item.split_whitespace().collect();
            let (name, direction) = match words[..] {
                [name] => (name, ""),
                [name, "asc"] => (name, ""),
                [name, "desc"] => (name, " DESC"),
                _ => {
                    return Err(bad(format!(
                        "'{}' is not 'property [asc|desc]'",
                        item.trim()
                    )));
                }
            };
            let (name, ty) = self.column(name)?;
            if ty == ColumnType::Json {
                return Err(bad(format!("'{name}' is JSON, which has no order")));
            }
            keys.push(format!("{}{direction}", quoted(&name)));
            named.push(name);
        }
        for key in self.set.key() {
            if !named.contains(key) {
                keys.push(quoted(key));
            }
        }
        if keys.is_empty() {
            return Ok(String::new());
        }
        Ok(format!(" ORDER BY {}", keys.join(", ")))
    }

    /// `expr` as an SQL condition.
    fn condition(&mut self, expr: &Expr) -> Result<String, ODataError> {
        match expr {
            Expr::Or(l, r) => Ok(format!(
                "({} OR {})",
                self.condition(l)?,
                self.condition(r)?
            )),
            Expr::And(l, r) => Ok(format!(
                "({} AND {})",
                self.condition(l)?,
                self.condition(r)?
            )),
            Expr::Not(e) => Ok(format!("(NOT COALESCE({}, FALSE))", self.condition(e)?)),
            Expr::Compare(l, op, r) => self.compare(l, *op, r),
            Expr::Call(function, a, b) => self.call(*function, a, b),
            Expr::Column(name) => match self.column(name)? {
                (name, ColumnType::Boolean) => Ok(match self.backend {
                    Backend::Sqlite => format!("({} <> 0)", quoted(&name)),
                    Backend::Postgres => quoted(&name),
                }),
                (name, ty) => Err(type_error(format!(
                    "'{name}' is {}, not a condition",
                    type_name(ty)
                ))),
            },
            Expr::Literal(Literal::Boolean(b)) => {
                let p = self.bind(Arg::Int(Some(i64::from(*b))));
                Ok(format!("(CAST({p} AS BIGINT) <> 0)"))
            }
            Expr::Literal(literal) => Err(type_error(format!(
                "{} is not a condition",
                literal_name(literal)
            ))),
        }
    }

    fn compare(&mut self, left: &Expr, op: CompareOp, right: &Expr) -> Result<String, ODataError> {
        match (left, right) {
            (Expr::Column(a), Expr::Column(b)) => {
                let (a, ta) = self.column(a)?;
                let (b, tb) = self.column(b)?;
                let numeric = |t| matches!(t, ColumnType::Integer | ColumnType::Double);
                if ta == ColumnType::Json || (ta != tb && !(numeric(ta) && numeric(tb))) {
                    return Err(type_error(format!(
                        "'{a}' ({}) cannot be compared with '{b}' ({})",
                        type_name(ta),
                        type_name(tb)
                    )));
                }
                Ok(format!("({} {} {})", quoted(&a), sql_op(op), quoted(&b)))
            }
            (Expr::Column(c), Expr::Literal(v)) => self.column_with_value(c, op, v),
            (Expr::Literal(v), Expr::Column(c)) => self.column_with_value(c, flip(op), v),
            _ => Err(type_error(format!(
                "'{left} {} {right}' does not compare a property with a property or a value",
                op.keyword()
            ))),
        }
    }

    fn column_with_value(
        &mut self,
        column: &str,
        op: CompareOp,
        value: &Literal,
    ) -> Result<String, ODataError> {
        let (name, ty) = self.column(column)?;
        let refuse = || {
            type_error(format!(
                "'{name}' is {}: it cannot be compared with {} using '{}'",
                type_name(ty),
                literal_name(value),
                op.keyword()
            ))
        };
        if ty == ColumnType::Json {
            return Err(refuse());
        }
        let value = match (ty, value) {
            (_, Literal::Null) => {
                return match op {
                    CompareOp::Eq => Ok(format!("({} IS NULL)", quoted(&name))),
                    CompareOp::Ne => Ok(format!("({} IS NOT NULL)", quoted(&name))),
                    _ => Err(refuse()),
                };
            }
            (ColumnType::Text, Literal::String(s)) => self.bind(Arg::Text(Some(s.clone()))),
            // Typed in the SQL: PostgreSQL would otherwise take the
            // parameter's type from an `INTEGER` column, and refuse the
            // 8-byte value bound to it.
            (ColumnType::Integer, Literal::Integer(n)) => {
                let p = self.bind(Arg::Int(Some(*n)));
                format!("CAST({p} AS BIGINT)")
            }
            (ColumnType::Integer | ColumnType::Double, Literal::Decimal(x)) => {
                let p = self.bind(Arg::Float(Some(*x)));
                format!("CAST({p} AS DOUBLE PRECISION)")
            }
            // As a double: PostgreSQL compares it with an integer column too.
            (ColumnType::Double, Literal::Integer(n)) => {
                let p = self.bind(Arg::Float(Some(*n as f64)));
                format!("CAST({p} AS DOUBLE PRECISION)")
            }
            (ColumnType::Boolean, Literal::Boolean(b))
                if matches!(op, CompareOp::Eq | CompareOp::Ne) =>
            {
                let p = self.bind(Arg::Int(Some(i64::from(*b))));
                match self.backend {
                    Backend::Sqlite => p,
                    Backend::Postgres => format!("(CAST({p} AS BIGINT) <> 0)"),
                }
            }
            (ColumnType::Timestamp, Literal::DateTimeOffset(t)) => {
                let p = self.bind(Arg::Int(Some(t.as_millisecond())));
                view_time(self.backend, &format!("CAST({p} AS BIGINT)"))
            }
            (ColumnType::Date, Literal::Date(d)) => {
                let p = self.bind(Arg::Text(Some(d.to_string())));
                match self.backend {
                    Backend::Sqlite => p,
                    Backend::Postgres => format!("CAST({p} AS DATE)"),
                }
            }
            _ => return Err(refuse()),
        };
        Ok(format!("({} {} {value})", quoted(&name), sql_op(op)))
    }

    fn call(&mut self, function: Function, a: &Expr, b: &Expr) -> Result<String, ODataError> {
        let usage = || {
            type_error(format!(
                "{}() takes a text property and a string: {}({a},{b})",
                function.name(),
                function.name()
            ))
        };
        let (Expr::Column(column), Expr::Literal(Literal::String(text))) = (a, b) else {
            return Err(usage());
        };
        let (name, ty) = self.column(column)?;
        if ty != ColumnType::Text {
            return Err(usage());
        }
        let mut escaped = String::with_capacity(text.len() + 2);
        for c in text.chars() {
            if matches!(c, '\\' | '%' | '_') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        let pattern = match function {
            Function::Contains => format!("%{escaped}%"),
            Function::StartsWith => format!("{escaped}%"),
            Function::EndsWith => format!("%{escaped}"),
        };
        let p = self.bind(Arg::Text(Some(pattern)));
        Ok(format!("({} LIKE {p} ESCAPE '\\')", quoted(&name)))
    }
}

fn type_error(message: String) -> ODataError {
    ODataError::Type { message }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

/// `op` with its operands swapped: `1 lt x` is `x gt 1`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        other => other,
    }
}

fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Integer => "an integer",
        ColumnType::Double => "a number",
        ColumnType::Boolean => "a boolean",
        ColumnType::Timestamp => "a DateTimeOffset",
        ColumnType::Date => "a date",
        ColumnType::Json => "JSON",
        ColumnType::Bytes => "bytes",
    }
}

fn literal_name(literal: &Literal) -> &'static str {
    match literal {
        Literal::Null => "null",
        Literal::Boolean(_) => "a boolean",
        Literal::Integer(_) => "an integer",
        Literal::Decimal(_) => "a decimal",
        Literal::String(_) => "a string",
        Literal::DateTimeOffset(_) => "a DateTimeOffset",
        Literal::Date(_) => "a date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(set: &str, filter: &str) -> Result<ODataQuery, ODataError> {
        let options = QueryOptions {
            filter: Some(filter),
            ..QueryOptions::default()
        };
        ODataQuery::new(Backend::Postgres, set, &options)
    }

    #[test]
    fn no_literal_reaches_the_sql() {
        let q = query("kz_messages", "sender_name eq 'x'' OR 1=1 --'").unwrap();
        let sql = q.select_sql().sql();
        assert!(!sql.contains("OR 1=1"), "{sql}");
        assert!(!sql.contains("--"), "{sql}");
        assert!(
            sql.ends_with(r#"WHERE ("sender_name" = $1) ORDER BY "event_id""#),
            "{sql}"
        );
        assert_eq!(q.select_sql().parameters(), 1);
        let q = query(
            "kz_messages",
            "contains(text,'%_\\ x') and sent_at lt 2026-03-10T20:00:00Z and group_name ne null",
        )
        .unwrap();
        let sql = q.select_sql().sql();
        assert!(!sql.contains('%') && !sql.contains("2026"), "{sql}");
        assert!(
            sql.contains(r#"("sent_at" < to_timestamp((CAST($2 AS BIGINT)) / 1000.0))"#),
            "{sql}"
        );
        assert!(sql.contains(r#"("group_name" IS NOT NULL)"#), "{sql}");
        let Arg::Text(Some(pattern)) = &q.select_sql().args[0] else {
            panic!()
        };
        assert_eq!(pattern, "%\\%\\_\\\\ x%");
    }

    proptest::proptest! {
        #[test]
        fn string_literals_are_always_bound(text in "zq[^']{0,20}", function in 0..4_usize) {
            let quoted = text.replace('\'', "''");
            let filter = match function {
                0 => format!("sender_name eq '{quoted}'"),
                1 => format!("contains(text,'{quoted}')"),
                2 => format!("not startswith(text,'{quoted}')"),
                _ => format!("endswith(text,'{quoted}') or text ne '{quoted}'"),
            };
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let options = QueryOptions { filter: Some(&filter), ..QueryOptions::default() };
                let q = ODataQuery::new(backend, "kz_messages", &options).unwrap();
                proptest::prop_assert!(!q.select_sql().sql().contains("zq"), "{}", q.select_sql().sql());
                proptest::prop_assert!(!q.count_sql().sql().contains("zq"));
            }
        }
    }

    #[test]
    fn unknown_columns_and_type_mismatches_are_refused() {
        let err = |set: &str, filter: &str| query(set, filter).unwrap_err().to_string();
        assert_eq!(
            err("kz_messages", "nope eq 1"),
            "'kz_messages' has no property 'nope'"
        );
        assert_eq!(
            err("responses_per_day", "x eq 1"),
            "no entity set 'responses_per_day'"
        );
        assert_eq!(
            err("kz_reactions", "likes eq '3'"),
            "'likes' is an integer: it cannot be compared with a string using 'eq'"
        );
        assert_eq!(
            err("kz_messages", "sent_at gt 2026-03-10"),
            "'sent_at' is a DateTimeOffset: it cannot be compared with a date using 'gt'"
        );
        assert_eq!(
            err("kz_messages", "text gt null"),
            "'text' is text: it cannot be compared with null using 'gt'"
        );
        assert!(err("kz_reactions", "contains(likes,'1')").starts_with("contains() takes"));
        assert_eq!(
            err("kz_messages", "text"),
            "'text' is text, not a condition"
        );
        let options = QueryOptions {
            orderby: Some("sent_at sideways"),
            ..QueryOptions::default()
        };
        assert_eq!(
            ODataQuery::new(Backend::Sqlite, "kz_messages", &options)
                .unwrap_err()
                .to_string(),
            "invalid $orderby: 'sent_at sideways' is not 'property [asc|desc]'"
        );
        let options = QueryOptions {
            select: Some("text,nope"),
            ..QueryOptions::default()
        };
        assert!(matches!(
            ODataQuery::new(Backend::Sqlite, "kz_messages", &options),
            Err(ODataError::UnknownColumn { .. })
        ));
    }

    #[test]
    fn options_make_the_select_and_the_count() {
        let options = QueryOptions {
            select: Some("sent_at, text"),
            filter: Some("1 lt responses and is_anonymous eq true"),
            orderby: Some("day desc, action_id"),
            skip: Some("5"),
            count: Some("true"),
            ..QueryOptions::default()
        };
        let err = ODataQuery::new(Backend::Sqlite, "kz_responses_daily", &options).unwrap_err();
        assert!(matches!(err, ODataError::UnknownColumn { .. }), "{err}");
        let options = QueryOptions {
            select: Some("day, responses"),
            filter: Some("1 lt responses and day ge 2026-03-10"),
            ..options
        };
        let sqlite = ODataQuery::new(Backend::Sqlite, "kz_responses_daily", &options).unwrap();
        assert_eq!(
            sqlite.select_sql().sql(),
            r#"SELECT "day", "responses" FROM "kz_responses_daily" WHERE (("responses" > CAST($1 AS BIGINT)) AND ("day" >= $2)) ORDER BY "day" DESC, "action_id", "group_id" LIMIT -1 OFFSET $3"#
        );
        assert_eq!(
            sqlite.count_sql().sql(),
            r#"SELECT COUNT(*) FROM "kz_responses_daily" WHERE (("responses" > CAST($1 AS BIGINT)) AND ("day" >= $2))"#
        );
        assert_eq!(sqlite.count_sql().parameters(), 2);
        assert!(sqlite.wants_count());
        let pg = ODataQuery::new(Backend::Postgres, "kz_responses_daily", &options).unwrap();
        assert_eq!(
            pg.select_sql().sql(),
            r#"SELECT CAST("day" AS TEXT) AS "day", "responses" FROM "kz_responses_daily" WHERE (("responses" > CAST($1 AS BIGINT)) AND ("day" >= CAST($2 AS DATE))) ORDER BY "day" DESC, "action_id", "group_id" OFFSET $3"#
        );
        assert_eq!(pg.columns(), ["day", "responses"]);
    }

    #[test]
    fn pages_follow_top_and_skip() {
        let options = QueryOptions {
            select: Some("event_id"),
            top: Some("25"),
            skip: Some("3"),
            ..QueryOptions::default()
        };
        let q = ODataQuery::new(Backend::Sqlite, "kz_messages", &options).unwrap();
        assert_eq!(q.top(), Some(25));
        let head = r#"SELECT "event_id" FROM "kz_messages" ORDER BY "event_id""#;
        assert_eq!(q.select_sql().sql(), format!("{head} LIMIT $1 OFFSET $2"));
        let bound = |sql: &Sql| {
            sql.args
                .iter()
                .map(|arg| match arg {
                    Arg::Int(Some(n)) => *n,
                    _ => panic!("{arg:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(bound(q.select_sql()), [25, 3]);
        // Pages of 10 (11 asked, to know whether more follow): the third
        // one ends at $top.
        assert_eq!(bound(&q.page_sql(0, 11)), [11, 3]);
        assert_eq!(bound(&q.page_sql(10, 11)), [11, 13]);
        assert_eq!(bound(&q.page_sql(20, 11)), [5, 23]);
        assert_eq!(bound(&q.page_sql(30, 11)), [0, 33]);
        let all =
            ODataQuery::new(Backend::Postgres, "kz_messages", &QueryOptions::default()).unwrap();
        assert_eq!(all.top(), None);
        assert_eq!(bound(&all.page_sql(0, 1001)), [1001]);
        assert_eq!(
            all.page_sql(0, 1001).sql(),
            format!("{} LIMIT $1", all.select_sql().sql())
        );
        assert_eq!(bound(&all.page_sql(1000, 1001)), [1001, 1000]);
    }
}

//! The exported columns' types, from the declarations: a table's columns
//! by their [`SqlType`], a `kz_*` view's by their [`Out`] kind (a plain
//! column by the table column it names), the two older views' here, the
//! pivot's by question type. And the text the views give times and days
//! in, read as numbers.

use crate::schema::{Out, SqlType, Stable, ViewBody, tables, views};

use super::ColumnType;

/// The declared types of a query's columns, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared(Vec<(String, ColumnType)>);

impl Declared {
    /// The type of column `name`: text unless declared otherwise.
    pub(crate) fn of(&self, name: &str) -> ColumnType {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(ColumnType::Text, |(_, ty)| *ty)
    }

    /// Adds a column.
    pub(crate) fn push(&mut self, name: impl Into<String>, ty: ColumnType) {
        self.0.push((name.into(), ty));
    }

    /// Whether `name` is declared.
    #[cfg(test)]
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// The declared column types of the table or view `name`.
pub(crate) fn declared(name: &str) -> Declared {
    if let Some(table) = tables::by_name(name) {
        return Declared(
            table
                .columns
                .iter()
                .map(|c| (c.name.to_owned(), sql_type(c.ty)))
                .collect(),
        );
    }
    match views::by_name(name).map(|view| view.body) {
        Some(ViewBody::Stable(view)) => Declared(
            view.columns
                .iter()
                .map(|(name, out)| ((*name).to_owned(), out_type(view, *out)))
                .collect(),
        ),
        // The views older than the contract, written as SQL.
        Some(ViewBody::Sql { .. }) => {
            use ColumnType::{Integer, Text};
            let columns: &[(&str, ColumnType)] = match name {
                "responses_per_day" => &[
                    ("action_id", Text),
                    ("day", Text),
                    ("day_start", Integer),
                    ("responses", Integer),
                ],
                "answer_distribution" => &[
                    ("action_id", Text),
                    ("question_index", Integer),
                    ("question_title", Text),
                    ("option", Text),
                    ("count", Integer),
                ],
                _ => &[],
            };
            Declared(columns.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect())
        }
        None => Declared::default(),
    }
}

fn sql_type(ty: SqlType) -> ColumnType {
    match ty {
        SqlType::Text => ColumnType::Text,
        SqlType::BigInt | SqlType::Int | SqlType::Position | SqlType::Serial => ColumnType::Integer,
        SqlType::Double => ColumnType::Double,
        SqlType::Blob => ColumnType::Bytes,
    }
}

fn out_type(view: &Stable, out: Out) -> ColumnType {
    match out {
        Out::Time(_) => ColumnType::Timestamp,
        Out::Day(_) => ColumnType::Date,
        Out::Flag(_) => ColumnType::Boolean,
        Out::Json(_) => ColumnType::Json,
        Out::Plain(expression) => plain_type(view.from, expression).unwrap_or(ColumnType::Text),
    }
}

/// The type of a plain column `expression` (`alias.column`, `MAX(…)`,
/// `COUNT(*)`) over `from`: the declared type of the table column it
/// names. `None` for what names no table (`json_each`'s `value`).
fn plain_type(from: &str, expression: &str) -> Option<ColumnType> {
    if expression == "COUNT(*)" {
        return Some(ColumnType::Integer);
    }
    let inner = ["MAX(", "MIN("]
        .iter()
        .find_map(|f| expression.strip_prefix(f)?.strip_suffix(')'))
        .unwrap_or(expression);
    let (alias, column) = inner.split_once('.')?;
    // `FROM groups AS g LEFT JOIN groups AS p …`: the word before `AS alias`.
    let words: Vec<&str> = from.split_whitespace().collect();
    let table = words
        .windows(3)
        .find(|w| w[1] == "AS" && w[2] == alias)
        .map(|w| w[0])?;
    let column = tables::by_name(table)?
        .columns
        .iter()
        .find(|c| c.name == column)?;
    Some(sql_type(column.ty))
}

/// The type of a pivot column of a question of type `kind`, as the pivot
/// selects it: a number for `Numeric`, the JSON array of titles for
/// `MultiOption`, text otherwise.
pub(crate) fn pivot_column(kind: Option<&str>) -> ColumnType {
    match kind {
        Some("Numeric") => ColumnType::Double,
        Some("MultiOption") => ColumnType::Json,
        _ => ColumnType::Text,
    }
}

/// A view's time, `YYYY-MM-DD HH:MM:SS.SSS` in UTC, as epoch milliseconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    kaizala_types::Timestamp::parse_unix_millis(text).ok()
}

/// A view's day (`YYYY-MM-DD`) as days since 1970-01-01.
pub(crate) fn parse_day(text: &str) -> Option<i32> {
    if text.len() != 10 {
        return None;
    }
    let millis = kaizala_types::Timestamp::parse_unix_millis(text).ok()?;
    i32::try_from(millis.div_euclid(86_400_000)).ok()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days_read_as_the_views_write_them() {
        assert_eq!(
            parse_time("2023-11-14 22:13:20.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_time("1969-12-31 23:59:59.999"), Some(-1));
        assert_eq!(parse_time("2000-02-29 00:00:00.000"), Some(951_782_400_000));
        for bad in ["", "2023-13-14 00:00:00", "2023-11-14 22:13:2x", "now"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("1969-12-31"), Some(-1));
        assert_eq!(parse_day("2023-11-14"), Some(19_675));
        assert_eq!(parse_day("2023-11-14 00:00"), None);
        assert_eq!(parse_day("2023-02-30"), None);
    }

    #[test]
    fn every_view_column_is_typed_from_a_declaration() {
        for view in views::ALL {
            let declared = declared(view.name);
            match view.body {
                ViewBody::Stable(stable) => {
                    for (name, out) in stable.columns {
                        let Out::Plain(expression) = out else {
                            continue;
                        };
                        // Only json_each's option text names no table.
                        assert!(
                            plain_type(stable.from, expression).is_some()
                                || *expression == "o.value",
                            "{}.{name}: {expression}",
                            view.name
                        );
                    }
                }
                ViewBody::Sql { .. } => assert!(declared.has("action_id"), "{}", view.name),
            }
        }
        let responses = declared("kz_responses");
        assert_eq!(responses.of("responded_at"), ColumnType::Timestamp);
        assert_eq!(responses.of("is_anonymous"), ColumnType::Boolean);
        assert_eq!(responses.of("details"), ColumnType::Json);
        assert_eq!(responses.of("responder_name"), ColumnType::Text);
        let answers = declared("kz_answers");
        assert_eq!(answers.of("question_index"), ColumnType::Integer);
        assert_eq!(answers.of("number_value"), ColumnType::Double);
        assert_eq!(declared("kz_responses_daily").of("day"), ColumnType::Date);
        assert_eq!(
            declared("kz_groups").of("member_count"),
            ColumnType::Integer
        );
        assert_eq!(declared("quarantine").of("body"), ColumnType::Bytes);
    }
}

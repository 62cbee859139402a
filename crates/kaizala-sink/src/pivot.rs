//! The survey pivot: one row per response to an action, one column per
//! question, named after the question's title and typed by its type — the
//! first table a survey analyst builds.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};

use crate::db::{Backend, Db};
use crate::error::SinkError;
use crate::export::{ColumnType, Declared, pivot_column};

/// The columns every pivot starts with.
const FIXED: [&str; 6] = [
    "response_id",
    "responded_at",
    "responder_id",
    "responder_name",
    "group_id",
    "group_name",
];

/// A question as the answers name it.
struct Question {
    index: i64,
    title: Option<String>,
    kind: Option<String>,
}

/// `title` as a column name: lower-case letters, digits and `_` (others
/// become `_`), not starting with a digit, at most 60 bytes; `q{index}`
/// when nothing is left.
fn safe_name(title: Option<&str>, index: i64) -> String {
    let mut name = String::new();
    for c in title.unwrap_or_default().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_matches('_').to_owned();
    if name.is_empty() {
        name = format!("q{index}");
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "q_");
    }
    name.truncate(60);
    name
}

/// Unique names for `questions`, in order: a name already taken (by the
/// fixed columns or an earlier question) gets `_2`, `_3`, ….
fn column_names(questions: &[Question]) -> Vec<String> {
    let mut taken: BTreeSet<String> = FIXED.iter().map(|c| (*c).to_owned()).collect();
    questions
        .iter()
        .map(|q| {
            let base = safe_name(q.title.as_deref(), q.index);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// The value of question `index` in a response's answers, typed by the
/// question's type: a number for `Numeric`, the chosen option's title for
/// `SingleOption`, the JSON array for `MultiOption`, text otherwise.
fn value(backend: Backend, index: i64, kind: Option<&str>) -> String {
    let when = format!("CASE WHEN q.question_index = {index} THEN");
    let single = match backend {
        Backend::Sqlite => "CASE WHEN json_type(q.json_value) = 'array' \
             THEN json_extract(q.json_value, '$[0]') ELSE json_extract(q.json_value, '$') END"
            .to_owned(),
        Backend::Postgres => "CASE WHEN jsonb_typeof(CAST(q.json_value AS jsonb)) = 'array' \
             THEN CAST(q.json_value AS jsonb) ->> 0 \
             ELSE CAST(q.json_value AS jsonb) #>> '{}' END"
            .to_owned(),
    };
    let expr = match kind {
        Some("Numeric") => "q.number_value".to_owned(),
        Some("SingleOption") => single,
        Some("MultiOption") => "q.json_value".to_owned(),
        Some("Text") => "q.text_value".to_owned(),
        _ => "COALESCE(q.text_value, CAST(q.number_value AS TEXT), q.json_value)".to_owned(),
    };
    format!("MAX({when} {expr} END)")
}

/// How a pivot's `responded_at` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Times {
    /// As `YYYY-MM-DD HH:MM:SS.SSS` UTC text on both backends: an export.
    Text,
    /// As the `kz_*` views have times (PostgreSQL `timestamptz`): a view.
    Native,
}

/// The pivot of `action_id`'s responses as one query (for an export: times
/// as `YYYY-MM-DD HH:MM:SS.SSS` UTC text on both backends), and its
/// columns' types. Current answers only, so an updated response shows its
/// latest answers.
pub(crate) async fn query(db: &Db, action_id: &str) -> Result<(String, Declared), SinkError> {
    let doing = "reading the action's questions";
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(doing, e))?;
    build(&mut conn, db.backend, action_id, Times::Text)
        .await
        .map_err(|e| db.error(doing, e))?
        .ok_or_else(|| SinkError::NoAnswers {
            action_id: action_id.to_owned(),
        })
}

/// [`query`] on a connection; `None` when nobody answered the action.
pub(crate) async fn build(
    conn: &mut AnyConnection,
    backend: Backend,
    action_id: &str,
    times: Times,
) -> Result<Option<(String, Declared)>, sqlx::Error> {
    let questions: Vec<Question> = sqlx::query(
        "SELECT question_index, MAX(title), MAX(question_type) FROM answers \
         WHERE action_id = $1 AND is_invisible = 0 \
         GROUP BY question_index ORDER BY question_index",
    )
    .bind(action_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Question {
            index: row.try_get::<i64, _>(0)?,
            title: row.try_get(1)?,
            kind: row.try_get(2)?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    if questions.is_empty() {
        return Ok(None);
    }
    let responded_at = match times {
        Times::Text => crate::schema::time_text(backend, "r.responded_at"),
        Times::Native => crate::schema::view_time(backend, "r.responded_at"),
    };
    let mut columns = vec![
        "r.response_id AS response_id".to_owned(),
        format!("{responded_at} AS responded_at"),
        "r.responder_id AS responder_id".to_owned(),
        "r.responder_name AS responder_name".to_owned(),
        "r.group_id AS group_id".to_owned(),
        "MAX(g.group_name) AS group_name".to_owned(),
    ];
    let mut types = Declared::default();
    for fixed in FIXED {
        let ty = match fixed {
            "responded_at" => ColumnType::Timestamp,
            _ => ColumnType::Text,
        };
        types.push(fixed, ty);
    }
    for (question, name) in questions.iter().zip(column_names(&questions)) {
        columns.push(format!(
            "{} AS \"{name}\"",
            value(backend, question.index, question.kind.as_deref())
        ));
        types.push(name, pivot_column(question.kind.as_deref()));
    }
    let literal = action_id.replace('\'', "''");
    let sql = format!(
        "SELECT {} FROM responses AS r \
         LEFT JOIN answers AS q ON q.response_id = r.response_id \
         LEFT JOIN groups AS g ON g.group_id = r.group_id \
         WHERE r.action_id = '{literal}' \
         GROUP BY r.response_id, r.responded_at, r.responder_id, r.responder_name, r.group_id \
         ORDER BY r.responded_at, r.response_id",
        columns.join(", ")
    );
    Ok(Some((sql, types)))
}

// ---- pivots kept as views (`kaizala sql pivot`) ----------------------------
//
// A pivot view reads projected tables, which a rebuild drops and swaps: so
// each one is registered in `sink_state` (`pivot_view:NAME`, the action in
// `detail`) and dropped and made again wherever the sink's own views are
// (`schema::ensure`), which also picks up questions added since.

/// The projected tables a pivot reads ([`build`]'s `FROM`): its view
/// exists only while they are current.
pub(crate) const READS: [&str; 3] = ["responses", "answers", "groups"];

/// The `sink_state` names of registered pivot views start with this.
const REGISTERED: &str = "pivot_view:";

/// The registered pivot views: `(view name, action id)`.
pub(crate) async fn registered(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query("SELECT name, detail FROM sink_state WHERE name LIKE 'pivot\\_view:%' ESCAPE '\\'")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            let action: Option<String> = row.try_get(1)?;
            Ok((
                name.trim_start_matches(REGISTERED).to_owned(),
                action.unwrap_or_default(),
            ))
        })
        .collect()
}

/// Makes view `name` of `action_id`'s pivot (`false` when nobody answered
/// the action yet: there are no columns to make).
pub(crate) async fn create_view(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
    action_id: &str,
) -> Result<bool, sqlx::Error> {
    let Some((select, _)) = build(conn, backend, action_id, Times::Native).await? else {
        return Ok(false);
    };
    sqlx::query(&format!("CREATE VIEW {name} AS {select}"))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// A pivot view's name: `given`, checked, or `pivot_` and the action's
/// title (or id) made safe.
fn view_name(
    given: Option<&str>,
    title: Option<&str>,
    action_id: &str,
) -> Result<String, SinkError> {
    let name = match given {
        Some(name) => name.to_owned(),
        None => {
            let mut base = safe_name(title.or(Some(action_id)), 0);
            base.truncate(57);
            format!("pivot_{base}")
        }
    };
    let well_formed = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let taken = crate::schema::tables::by_name(&name).is_some()
        || crate::schema::views::by_name(&name).is_some()
        || name.ends_with("__new");
    if !well_formed || taken {
        return Err(SinkError::BadViewName { name });
    }
    Ok(name)
}

/// Registers and makes (or makes again, with the questions of now) the
/// pivot view of `action_id`; returns its name.
pub(crate) async fn keep_as_view(
    db: &Db,
    action_id: &str,
    name: Option<&str>,
) -> Result<String, SinkError> {
    let doing = "making the pivot view";
    let failed = |e| db.error(doing, e);
    let mut tx = db.pool.begin().await.map_err(failed)?;
    let title: Option<String> = sqlx::query("SELECT title FROM actions WHERE action_id = $1")
        .bind(action_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?
        .map(|row| row.try_get::<Option<String>, _>(0))
        .transpose()
        .map_err(failed)?
        .flatten();
    let name = view_name(name, title.as_deref(), action_id)?;
    let registered = registered(&mut tx).await.map_err(failed)?;
    if let Some((_, other)) = registered
        .iter()
        .find(|(n, a)| *n == name && a != action_id)
    {
        return Err(SinkError::ViewTaken {
            name,
            action_id: other.clone(),
        });
    }
    let existing = crate::schema::ensure::existing(&mut tx, db.backend)
        .await
        .map_err(failed)?;
    match existing.get(&name) {
        Some(true) => {
            sqlx::query(&format!("DROP VIEW {name}"))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        Some(false) => return Err(SinkError::BadViewName { name }),
        None => {}
    }
    if !create_view(&mut tx, db.backend, &name, action_id)
        .await
        .map_err(failed)?
    {
        return Err(SinkError::NoAnswers {
            action_id: action_id.to_owned(),
        });
    }
    crate::project::note(
        &mut *tx,
        &format!("{REGISTERED}{name}"),
        None,
        action_id,
        crate::db::now_millis(),
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let q = |index, title: &str| Question {
            index,
            title: Some(title.to_owned()),
            kind: None,
        };
        let names = column_names(&[
            q(0, "Retailer Outlet"),
            q(1, "Rice 1KG (cartons)"),
            q(2, "retailer-outlet"),
            q(3, "2nd visit?"),
            q(4, "नमस्ते"),
            q(5, "Response ID"),
        ]);
        assert_eq!(
            names,
            [
                "retailer_outlet",
                "rice_1kg_cartons",
                "retailer_outlet_2",
                "q_2nd_visit",
                "q4",
                "response_id_2"
            ]
        );
    }
}

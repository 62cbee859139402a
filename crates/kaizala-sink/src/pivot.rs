//! The survey pivot: one row per response to an action, one column per
//! question, named after the question's title and typed by its type — the
//! first table a survey analyst builds.

use std::collections::BTreeSet;

use sqlx::Row;

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

/// The pivot of `action_id`'s responses as one query (for an export: times
/// as `YYYY-MM-DD HH:MM:SS.SSS` UTC text on both backends), and its
/// columns' types. Current answers only, so an updated response shows its
/// latest answers.
pub(crate) async fn query(db: &Db, action_id: &str) -> Result<(String, Declared), SinkError> {
    let doing = "reading the action's questions";
    let questions: Vec<Question> = sqlx::query(
        "SELECT question_index, MAX(title), MAX(question_type) FROM answers \
         WHERE action_id = $1 AND is_invisible = 0 \
         GROUP BY question_index ORDER BY question_index",
    )
    .bind(action_id)
    .fetch_all(&db.pool)
    .await
    .map_err(|e| db.error(doing, e))?
    .iter()
    .map(|row| {
        Ok(Question {
            index: row.try_get::<i64, _>(0)?,
            title: row.try_get(1)?,
            kind: row.try_get(2)?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(|e| db.error(doing, e))?;
    if questions.is_empty() {
        return Err(SinkError::NoAnswers {
            action_id: action_id.to_owned(),
        });
    }
    let responded_at = crate::schema::time_text(db.backend, "r.responded_at");
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
            value(db.backend, question.index, question.kind.as_deref())
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
    Ok((sql, types))
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

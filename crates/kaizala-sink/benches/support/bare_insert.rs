//! The baseline of the durable-ingest benches (`kaizala-sink`'s `ingest`
//! and `kaizala-cli`'s `ingest`, which includes this file): the rows
//! `SqlEventStore` writes for a mix of survey responses, text messages and
//! members joining, inserted directly — a batch of events per transaction,
//! multi-row `INSERT`s, no duplicate check, no upserts — and throwaway
//! PostgreSQL databases to run in.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{AnyPool, Connection};

/// Rows per multi-row `INSERT`.
pub const ROWS_PER_STATEMENT: usize = 64;

/// A value to bind.
#[derive(Clone)]
pub enum V {
    T(Option<String>),
    I(Option<i64>),
    F(Option<f64>),
}

/// Some text.
fn t(s: impl Into<String>) -> V {
    V::T(Some(s.into()))
}

/// A JSON string as text (NULL for anything else).
fn text(v: &Value) -> V {
    V::T(v.as_str().map(str::to_owned))
}

/// A table's `INSERT INTO` head and its rows.
pub type TableRows = (&'static str, Vec<Vec<V>>);

/// One received event: its body and when it arrived (epoch ms).
pub struct Received<'a> {
    pub body: &'a [u8],
    pub at: i64,
}

/// The rows `SqlEventStore` writes for these events, by table (the values
/// of the sink's normalisation for this mix of events: survey responses,
/// text messages, members joining, all in a group subscription).
pub fn rows_of(events: &[Received<'_>]) -> Vec<TableRows> {
    let (mut ev, mut resp, mut ans, mut msg, mut chg, mut mem) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for e in events {
        let json: Value = serde_json::from_slice(e.body).unwrap();
        let at = e.at;
        let group = text(&json["objectId"]);
        let sender = text(&json["fromUserId"]);
        ev.push(vec![
            text(&json["eventId"]),
            text(&json["eventType"]),
            group.clone(),
            t("Group"),
            group.clone(),
            sender.clone(),
            V::I(Some(at)),
            t(std::str::from_utf8(e.body).unwrap()),
            V::I(Some(at)),
        ]);
        let d = &json["data"];
        match json["eventType"].as_str().unwrap() {
            "SurveyResponse" => {
                let questions = d["responseDetails"]["responseWithQuestions"]
                    .as_array()
                    .unwrap();
                resp.push(vec![
                    text(&d["responseId"]),
                    text(&d["actionId"]),
                    group.clone(),
                    V::T(None),
                    text(&d["responderId"]),
                    text(&d["responder"]),
                    text(&d["responderName"]),
                    V::I(Some(0)),
                    V::I(None),
                    V::I(Some(0)),
                    V::I(Some(at)),
                    V::I(Some(at)),
                    V::I(Some(at)),
                    t("0123456789abcdef"),
                    t(d["responseDetails"].to_string()),
                ]);
                for (i, q) in questions.iter().enumerate() {
                    let (tv, nv, jv) = match &q["answer"] {
                        Value::String(s) => (V::T(Some(s.clone())), V::F(None), V::T(None)),
                        Value::Number(n) => (V::T(None), V::F(n.as_f64()), V::T(None)),
                        other => (V::T(None), V::F(None), V::T(Some(other.to_string()))),
                    };
                    ans.push(vec![
                        text(&d["responseId"]),
                        V::I(Some(i as i64)),
                        text(&d["actionId"]),
                        text(&q["title"]),
                        text(&q["type"]),
                        V::I(Some(i64::from(q["isInvisible"] == true))),
                        tv,
                        nv,
                        jv,
                    ]);
                }
            }
            "TextMessageCreated" => msg.push(vec![
                text(&json["eventId"]),
                group.clone(),
                sender.clone(),
                V::T(None),
                text(&json["fromUserName"]),
                text(&d["text"]),
                V::I(Some(at)),
            ]),
            _ => {
                chg.push(vec![
                    text(&json["eventId"]),
                    group.clone(),
                    text(&d["memberId"]),
                    text(&d["member"]),
                    text(&d["memberName"]),
                    t("Member"),
                    t("added"),
                    sender.clone(),
                    V::T(None),
                    V::I(Some(at)),
                ]);
                mem.push(vec![
                    group.clone(),
                    text(&d["memberId"]),
                    text(&d["member"]),
                    text(&d["memberName"]),
                    t("Member"),
                    V::I(None),
                    V::T(None),
                    V::I(Some(at)),
                    V::I(Some(at)),
                ]);
            }
        }
    }
    vec![
        (
            "events (event_id, event_type, object_id, object_type, group_id, from_user_id, \
             received_at, payload, due_at)",
            ev,
        ),
        (
            "responses (response_id, action_id, group_id, package_id, responder_id, \
             responder_phone, responder_name, is_anonymous, is_completed, is_update, \
             responded_at, version_at, first_seen_at, fingerprint, details)",
            resp,
        ),
        (
            "answers (response_id, question_index, action_id, title, question_type, \
             is_invisible, text_value, number_value, json_value)",
            ans,
        ),
        (
            "messages (event_id, group_id, sender_id, sender_phone, sender_name, text, sent_at)",
            msg,
        ),
        (
            "member_changes (event_id, group_id, member_id, phone, name, role, change_type, \
             by_user_id, by_user_name, changed_at)",
            chg,
        ),
        (
            "members (group_id, member_id, phone, name, role, is_provisioned, profile_pic, \
             joined_at, updated_at)",
            mem,
        ),
    ]
}

/// Inserts `batches` (each the rows of one transaction) into `pool`; the
/// time it took. Build the rows before calling: this times the database's
/// work alone.
pub async fn insert(pool: &AnyPool, batches: Vec<Vec<TableRows>>, sqlite: bool) -> Duration {
    let started = Instant::now();
    for batch in batches {
        let mut conn = pool.acquire().await.unwrap();
        // SQLite: take the write lock at once, as the store does.
        let mut tx = conn
            .begin_with(if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })
            .await
            .unwrap();
        for (table, rows) in batch {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let cols = chunk[0].len();
                let values: Vec<String> = (0..chunk.len())
                    .map(|r| {
                        let ps: Vec<String> = (0..cols)
                            .map(|c| format!("${}", r * cols + c + 1))
                            .collect();
                        format!("({})", ps.join(","))
                    })
                    .collect();
                let sql = format!("INSERT INTO {table} VALUES {}", values.join(","));
                let mut q = sqlx::query(&sql);
                for v in chunk.iter().flatten() {
                    q = match v.clone() {
                        V::T(s) => q.bind(s),
                        V::I(i) => q.bind(i),
                        V::F(Some(f)) => q.bind(f),
                        // sqlx 0.8.6's Any driver swaps the types of NULL
                        // f32 and f64 (see kaizala-sink's write.rs): this
                        // binds a NULL DOUBLE PRECISION.
                        V::F(None) => q.bind(None::<f32>),
                    };
                }
                q.execute(&mut *tx).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

/// A fresh database named `{prefix}_{pid}` on the server `admin` names: its
/// URL and name.
pub async fn create_postgres(admin: &str, prefix: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let start = admin.find("://").unwrap() + 3;
    let end = admin[start..].find('/').map_or(admin.len(), |i| start + i);
    let query = admin.find('?').map_or("", |q| &admin[q..]);
    (format!("{}/{name}{query}", &admin[..end]), name)
}

/// Drops a database [`create_postgres`] made.
pub async fn drop_postgres(admin: &str, name: &str) {
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

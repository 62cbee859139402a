//! Writing [`Rows`] inside a transaction: the one place the typed tables
//! are written, by the event store and the pull sync alike.
//!
//! Tables are written in a fixed order (groups, actions, responses and
//! answers, messages, attachments, member changes, members) and rows in key
//! order within each, so concurrent transactions (ingest replicas on one
//! PostgreSQL) take their row locks in the same order. Rows whose key
//! occurs once in the batch go in multi-row statements (chunks of 64, 16,
//! 4, 1 rows); repeated keys are written one at a time, in arrival order.

use std::collections::{BTreeMap, HashSet};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::db::{chunk_sizes, placeholders};
use crate::normalise::Rows;
use crate::normalise::action::ActionRow;
use crate::normalise::attachment::AttachmentRow;
use crate::normalise::group::GroupRow;
use crate::normalise::member::{MemberChangeRow, MemberOp, MemberRow};
use crate::normalise::message::MessageRow;
use crate::normalise::response::ResponseRow;

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bytes(Vec<u8>),
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Float(v)
    }
}
/// Flags are stored as integers 0 and 1 (in both backends).
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Int(Some(i64::from(v)))
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Int(v.map(i64::from))
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

/// `sql` with `args` bound in order.
pub(crate) fn query(sql: &str, args: Vec<Arg>) -> Query<'_, Any, AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            // PostgreSQL text cannot hold NUL (JSON can, escaped).
            Arg::Text(Some(v)) if v.contains('\0') => query.bind(v.replace('\0', "\u{fffd}")),
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::Float(Some(v)) => query.bind(v),
            // sqlx 0.8.6's Any driver binds a NULL typed f32 as a DOUBLE
            // PRECISION and one typed f64 as a REAL (its two arms are
            // swapped): a statement prepared with a REAL parameter then
            // rejects the 8-byte doubles that follow. Bind NULL as f32.
            Arg::Float(None) => query.bind(None::<f32>),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

/// Inserts `rows` (each `cols` values) with `head VALUES … tail`, in
/// chunks; returns the first column of what `tail`'s `RETURNING` gives
/// (nothing without one).
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    head: &str,
    cols: usize,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<Vec<String>, sqlx::Error> {
    let returning = tail.contains("RETURNING");
    let mut returned = Vec::new();
    let mut rows = rows.into_iter();
    for size in chunk_sizes(rows.len()) {
        let sql = format!("{head} VALUES {}{tail}", placeholders(1, cols, size));
        let args: Vec<Arg> = rows.by_ref().take(size).flatten().collect();
        let query = query(&sql, args);
        if returning {
            for row in query.fetch_all(&mut *conn).await? {
                returned.push(row.try_get::<String, _>(0)?);
            }
        } else {
            query.execute(&mut *conn).await?;
        }
    }
    Ok(returned)
}

/// What [`apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Responses stored for the first time.
    pub responses_new: u64,
    /// Stored responses replaced by a changed version.
    pub responses_updated: u64,
    /// Responses already stored as they are (or older than what is).
    pub responses_unchanged: u64,
}

impl std::ops::AddAssign for Applied {
    fn add_assign(&mut self, other: Applied) {
        self.responses_new += other.responses_new;
        self.responses_updated += other.responses_updated;
        self.responses_unchanged += other.responses_unchanged;
    }
}

/// Writes `rows` on `conn` (inside the caller's transaction).
pub(crate) async fn apply(conn: &mut AnyConnection, rows: Rows) -> Result<Applied, sqlx::Error> {
    let Rows {
        groups,
        actions,
        responses,
        messages,
        attachments,
        member_changes,
        members,
    } = rows;
    let mut applied = Applied::default();
    write_groups(conn, groups).await?;
    write_actions(conn, actions).await?;
    applied += write_responses(conn, responses).await?;
    write_messages(conn, messages).await?;
    write_attachments(conn, attachments).await?;
    write_member_changes(conn, member_changes).await?;
    write_members(conn, members).await?;
    Ok(applied)
}

/// Splits rows into those whose key occurs once (sorted by key) and the
/// others (sorted by key, arrival order kept among equal keys).
fn split_unique<T, K: Ord + Clone>(mut items: Vec<T>, key: impl Fn(&T) -> K) -> (Vec<T>, Vec<T>) {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for item in &items {
        *counts.entry(key(item)).or_default() += 1;
    }
    items.sort_by_key(|item| key(item));
    items.into_iter().partition(|item| counts[&key(item)] == 1)
}

// ---- groups -------------------------------------------------------------

const GROUP_COLUMNS: &str = "INSERT INTO groups (group_id, group_name, group_type, image_url, \
     parent_group_id, welcome_message, member_count, user_count, removed_at, first_seen_at, \
     updated_at)";

const GROUP_MERGE: &str = " ON CONFLICT (group_id) DO UPDATE SET \
     group_name = COALESCE(excluded.group_name, groups.group_name), \
     group_type = COALESCE(excluded.group_type, groups.group_type), \
     image_url = COALESCE(excluded.image_url, groups.image_url), \
     parent_group_id = COALESCE(excluded.parent_group_id, groups.parent_group_id), \
     welcome_message = COALESCE(excluded.welcome_message, groups.welcome_message), \
     member_count = COALESCE(excluded.member_count, groups.member_count), \
     user_count = COALESCE(excluded.user_count, groups.user_count), \
     updated_at = excluded.updated_at";

async fn write_groups(
    conn: &mut AnyConnection,
    mut rows: Vec<GroupRow>,
) -> Result<(), sqlx::Error> {
    rows.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    for row in rows {
        let sets_removed = row.removed_at.is_some();
        let sql = format!(
            "{GROUP_COLUMNS} VALUES {}{GROUP_MERGE}{}",
            placeholders(1, 11, 1),
            if sets_removed {
                ", removed_at = excluded.removed_at"
            } else {
                ""
            }
        );
        let args = vec![
            row.group_id.into(),
            row.group_name.into(),
            row.group_type.into(),
            row.image_url.into(),
            row.parent_group_id.into(),
            row.welcome_message.into(),
            row.member_count.into(),
            row.user_count.into(),
            row.removed_at.flatten().into(),
            row.seen_at.into(),
            row.seen_at.into(),
        ];
        query(&sql, args).execute(&mut *conn).await?;
    }
    Ok(())
}

// ---- actions ------------------------------------------------------------

const ACTION_COLUMNS: &str = "INSERT INTO actions (action_id, group_id, action_type, package_id, \
     reference_id, title, text, creator_id, creator_phone, creator_name, created_at, expires_at, \
     is_anonymous, response_count, questions, body, first_seen_at, updated_at)";

const ACTION_MERGE: &str = " ON CONFLICT (action_id) DO UPDATE SET \
     group_id = COALESCE(excluded.group_id, actions.group_id), \
     action_type = COALESCE(excluded.action_type, actions.action_type), \
     package_id = COALESCE(excluded.package_id, actions.package_id), \
     reference_id = COALESCE(excluded.reference_id, actions.reference_id), \
     title = COALESCE(excluded.title, actions.title), \
     text = COALESCE(excluded.text, actions.text), \
     creator_id = COALESCE(excluded.creator_id, actions.creator_id), \
     creator_phone = COALESCE(excluded.creator_phone, actions.creator_phone), \
     creator_name = COALESCE(excluded.creator_name, actions.creator_name), \
     created_at = CASE WHEN actions.created_at IS NULL OR excluded.created_at < actions.created_at \
         THEN excluded.created_at ELSE actions.created_at END, \
     expires_at = COALESCE(excluded.expires_at, actions.expires_at), \
     is_anonymous = COALESCE(excluded.is_anonymous, actions.is_anonymous), \
     response_count = COALESCE(excluded.response_count, actions.response_count), \
     questions = COALESCE(excluded.questions, actions.questions), \
     body = COALESCE(excluded.body, actions.body), \
     updated_at = excluded.updated_at";

fn action_args(row: ActionRow) -> Vec<Arg> {
    vec![
        row.action_id.into(),
        row.group_id.into(),
        row.action_type.into(),
        row.package_id.into(),
        row.reference_id.into(),
        row.title.into(),
        row.text.into(),
        row.creator_id.into(),
        row.creator_phone.into(),
        row.creator_name.into(),
        row.created_at.into(),
        row.expires_at.into(),
        row.is_anonymous.into(),
        row.response_count.into(),
        row.questions.into(),
        row.body.into(),
        row.seen_at.into(),
        row.seen_at.into(),
    ]
}

async fn write_actions(conn: &mut AnyConnection, rows: Vec<ActionRow>) -> Result<(), sqlx::Error> {
    let (unique, repeated) = split_unique(rows, |r| r.action_id.clone());
    let unique = unique.into_iter().map(action_args).collect();
    insert_many(conn, ACTION_COLUMNS, 18, ACTION_MERGE, unique).await?;
    for row in repeated {
        insert_many(
            conn,
            ACTION_COLUMNS,
            18,
            ACTION_MERGE,
            vec![action_args(row)],
        )
        .await?;
    }
    Ok(())
}

// ---- responses and answers ----------------------------------------------

const RESPONSE_COLUMNS: &str = "INSERT INTO responses (response_id, action_id, group_id, \
     package_id, responder_id, responder_phone, responder_name, is_anonymous, is_completed, \
     is_update, responded_at, version_at, first_seen_at, fingerprint, details)";

const RESPONSE_NEW_ONLY: &str = " ON CONFLICT (response_id) DO NOTHING RETURNING response_id";

/// Replaces a stored response with a changed version — other answers, or
/// the same answers resubmitted as an update (`isUpdateResponse`) — unless
/// the stored one is newer: an update is never replaced by the original,
/// nor a version by an earlier `ResponseTime`.
const RESPONSE_UPDATE: &str = "UPDATE responses SET \
     action_id = COALESCE($2, action_id), \
     group_id = COALESCE($3, group_id), \
     package_id = COALESCE($4, package_id), \
     responder_id = COALESCE($5, responder_id), \
     responder_phone = COALESCE($6, responder_phone), \
     responder_name = COALESCE($7, responder_name), \
     is_anonymous = COALESCE($8, is_anonymous), \
     is_completed = COALESCE($9, is_completed), \
     is_update = $10, \
     version_at = $11, \
     updated_at = $12, \
     fingerprint = $13, \
     details = $14 \
     WHERE response_id = $1 AND (fingerprint <> $13 OR is_update < $10) \
     AND NOT (is_update = 1 AND $10 = 0) \
     AND (version_at IS NULL OR $11 IS NULL OR $11 >= version_at)";

const ANSWER_COLUMNS: &str = "INSERT INTO answers (response_id, question_index, action_id, title, \
     question_type, is_invisible, text_value, number_value, json_value)";

const ANSWER_MERGE: &str = " ON CONFLICT (response_id, question_index) DO UPDATE SET \
     action_id = excluded.action_id, title = excluded.title, \
     question_type = excluded.question_type, is_invisible = excluded.is_invisible, \
     text_value = excluded.text_value, number_value = excluded.number_value, \
     json_value = excluded.json_value";

fn response_args(row: &ResponseRow) -> Vec<Arg> {
    vec![
        (&row.response_id).into(),
        (&row.action_id).into(),
        (&row.group_id).into(),
        (&row.package_id).into(),
        (&row.responder_id).into(),
        (&row.responder_phone).into(),
        (&row.responder_name).into(),
        row.is_anonymous.into(),
        row.is_completed.into(),
        row.is_update.into(),
        row.responded_at().into(),
        row.version_at.into(),
        row.seen_at.into(),
        (&row.fingerprint).into(),
        (&row.details).into(),
    ]
}

fn answer_args(row: &ResponseRow) -> impl Iterator<Item = Vec<Arg>> + '_ {
    row.answers.iter().map(move |a| {
        vec![
            (&row.response_id).into(),
            a.question_index.into(),
            (&row.action_id).into(),
            (&a.title).into(),
            (&a.question_type).into(),
            a.is_invisible.into(),
            (&a.text_value).into(),
            a.number_value.into(),
            (&a.json_value).into(),
        ]
    })
}

async fn write_responses(
    conn: &mut AnyConnection,
    rows: Vec<ResponseRow>,
) -> Result<Applied, sqlx::Error> {
    let mut applied = Applied::default();
    let (unique, repeated) = split_unique(rows, |r| r.response_id.clone());

    // New responses in bulk; the rest may update a stored one.
    let inserted: HashSet<String> = insert_many(
        conn,
        RESPONSE_COLUMNS,
        15,
        RESPONSE_NEW_ONLY,
        unique.iter().map(response_args).collect(),
    )
    .await?
    .into_iter()
    .collect();
    let (new, existing): (Vec<_>, Vec<_>) = unique
        .into_iter()
        .partition(|r| inserted.contains(&r.response_id));
    applied.responses_new += new.len() as u64;
    insert_many(
        conn,
        ANSWER_COLUMNS,
        9,
        ANSWER_MERGE,
        new.iter().flat_map(answer_args).collect(),
    )
    .await?;
    for row in existing {
        applied += update_response(conn, &row).await?;
    }
    for row in repeated {
        let inserted = insert_many(
            conn,
            RESPONSE_COLUMNS,
            15,
            RESPONSE_NEW_ONLY,
            vec![response_args(&row)],
        )
        .await?;
        if inserted.is_empty() {
            applied += update_response(conn, &row).await?;
        } else {
            applied.responses_new += 1;
            insert_many(
                conn,
                ANSWER_COLUMNS,
                9,
                ANSWER_MERGE,
                answer_args(&row).collect(),
            )
            .await?;
        }
    }
    Ok(applied)
}

async fn update_response(
    conn: &mut AnyConnection,
    row: &ResponseRow,
) -> Result<Applied, sqlx::Error> {
    let args = vec![
        (&row.response_id).into(),
        (&row.action_id).into(),
        (&row.group_id).into(),
        (&row.package_id).into(),
        (&row.responder_id).into(),
        (&row.responder_phone).into(),
        (&row.responder_name).into(),
        row.is_anonymous.into(),
        row.is_completed.into(),
        row.is_update.into(),
        row.version_at.into(),
        row.seen_at.into(),
        (&row.fingerprint).into(),
        (&row.details).into(),
    ];
    let changed = query(RESPONSE_UPDATE, args)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(Applied {
            responses_unchanged: 1,
            ..Applied::default()
        });
    }
    query(
        "DELETE FROM answers WHERE response_id = $1",
        vec![(&row.response_id).into()],
    )
    .execute(&mut *conn)
    .await?;
    insert_many(
        conn,
        ANSWER_COLUMNS,
        9,
        ANSWER_MERGE,
        answer_args(row).collect(),
    )
    .await?;
    Ok(Applied {
        responses_updated: 1,
        ..Applied::default()
    })
}

// ---- messages, attachments, member changes (one row per event) ----------

async fn write_messages(
    conn: &mut AnyConnection,
    mut rows: Vec<MessageRow>,
) -> Result<(), sqlx::Error> {
    rows.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let args = rows
        .into_iter()
        .map(|r| {
            vec![
                r.event_id.into(),
                r.group_id.into(),
                r.sender_id.into(),
                r.sender_phone.into(),
                r.sender_name.into(),
                r.text.into(),
                r.sent_at.into(),
            ]
        })
        .collect();
    insert_many(
        conn,
        "INSERT INTO messages (event_id, group_id, sender_id, sender_phone, sender_name, text, \
         sent_at)",
        7,
        " ON CONFLICT (event_id) DO NOTHING",
        args,
    )
    .await?;
    Ok(())
}

async fn write_attachments(
    conn: &mut AnyConnection,
    mut rows: Vec<AttachmentRow>,
) -> Result<(), sqlx::Error> {
    rows.sort_by(|a, b| (&a.event_id, a.item_index).cmp(&(&b.event_id, b.item_index)));
    let args = rows
        .into_iter()
        .map(|r| {
            vec![
                r.event_id.into(),
                r.item_index.into(),
                r.group_id.into(),
                r.sender_id.into(),
                r.sender_name.into(),
                r.action_type.into(),
                r.caption.into(),
                r.media_url.into(),
                r.file_name.into(),
                r.sent_at.into(),
            ]
        })
        .collect();
    insert_many(
        conn,
        "INSERT INTO attachments (event_id, item_index, group_id, sender_id, sender_name, \
         action_type, caption, media_url, file_name, sent_at)",
        10,
        " ON CONFLICT (event_id, item_index) DO NOTHING",
        args,
    )
    .await?;
    Ok(())
}

async fn write_member_changes(
    conn: &mut AnyConnection,
    mut rows: Vec<MemberChangeRow>,
) -> Result<(), sqlx::Error> {
    rows.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let args = rows
        .into_iter()
        .map(|r| {
            vec![
                r.event_id.into(),
                r.group_id.into(),
                r.member_id.into(),
                r.phone.into(),
                r.name.into(),
                r.role.into(),
                r.change_type.into(),
                r.by_user_id.into(),
                r.by_user_name.into(),
                r.changed_at.into(),
            ]
        })
        .collect();
    insert_many(
        conn,
        "INSERT INTO member_changes (event_id, group_id, member_id, phone, name, role, \
         change_type, by_user_id, by_user_name, changed_at)",
        10,
        " ON CONFLICT (event_id) DO NOTHING",
        args,
    )
    .await?;
    Ok(())
}

// ---- members --------------------------------------------------------------

const MEMBER_COLUMNS: &str = "INSERT INTO members (group_id, member_id, phone, name, role, \
     is_provisioned, profile_pic, joined_at, updated_at)";

const MEMBER_MERGE: &str = " ON CONFLICT (group_id, member_id) DO UPDATE SET \
     phone = COALESCE(excluded.phone, members.phone), \
     name = COALESCE(excluded.name, members.name), \
     role = COALESCE(excluded.role, members.role), \
     is_provisioned = COALESCE(excluded.is_provisioned, members.is_provisioned), \
     profile_pic = COALESCE(excluded.profile_pic, members.profile_pic), \
     joined_at = COALESCE(members.joined_at, excluded.joined_at), \
     updated_at = excluded.updated_at";

fn member_args(row: MemberRow) -> Vec<Arg> {
    vec![
        row.group_id.into(),
        row.member_id.into(),
        row.phone.into(),
        row.name.into(),
        row.role.into(),
        row.is_provisioned.into(),
        row.profile_pic.into(),
        row.joined_at.into(),
        row.seen_at.into(),
    ]
}

/// Upserts members in bulk (for the pull sync's lists).
pub(crate) async fn upsert_members(
    conn: &mut AnyConnection,
    rows: Vec<MemberRow>,
) -> Result<(), sqlx::Error> {
    write_members(conn, rows.into_iter().map(MemberOp::Upsert).collect()).await
}

async fn write_members(conn: &mut AnyConnection, ops: Vec<MemberOp>) -> Result<(), sqlx::Error> {
    let (unique, repeated) = split_unique(ops, |op| {
        let (g, m) = op.key();
        (g.to_owned(), m.to_owned())
    });
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for op in unique {
        match op {
            MemberOp::Upsert(row) => upserts.push(member_args(row)),
            op @ MemberOp::Remove { .. } => removals.push(op),
        }
    }
    insert_many(conn, MEMBER_COLUMNS, 9, MEMBER_MERGE, upserts).await?;
    for op in removals.into_iter().chain(repeated) {
        match op {
            MemberOp::Upsert(row) => {
                insert_many(
                    conn,
                    MEMBER_COLUMNS,
                    9,
                    MEMBER_MERGE,
                    vec![member_args(row)],
                )
                .await?;
            }
            MemberOp::Remove {
                group_id,
                member_id,
            } => {
                query(
                    "DELETE FROM members WHERE group_id = $1 AND member_id = $2",
                    vec![group_id.into(), member_id.into()],
                )
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_go_in_bulk_and_repeats_keep_their_order() {
        let items = vec![("b", 1), ("a", 2), ("c", 3), ("a", 4), ("b", 5)];
        let (unique, repeated) = split_unique(items, |i| i.0);
        assert_eq!(unique, vec![("c", 3)]);
        assert_eq!(repeated, vec![("a", 2), ("a", 4), ("b", 1), ("b", 5)]);
    }
}

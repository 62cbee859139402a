//! Writing [`Rows`] inside a transaction: the one place the projected
//! tables are written, by the projector and by a rebuild alike
//! ([`Targets`] says which tables, under which names).
//!
//! Every statement comes from the tables' declarations
//! ([`crate::schema::tables`]): the insert heads and the merge each upsert
//! does. Rows of one table are written in log order per key: keys that
//! occur once in a batch go in multi-row statements (chunks of 64, 16, 4
//! and 1 rows), repeated keys one row at a time, in order — so writing a
//! batch gives what writing its entries one by one would, whatever the
//! batch boundaries (a rebuild and the incremental projector agree).
//! No write reads another table, so the order of tables does not matter.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::db::{Backend, chunk_sizes, placeholders};
use crate::normalise::Rows;
use crate::normalise::action::ActionRow;
use crate::normalise::group::GroupRow;
use crate::normalise::member::{MemberOp, SUBSCRIBER};
use crate::normalise::response::ResponseRow;
use crate::schema::TableDef;
use crate::schema::tables::{
    ACTIONS, ANSWERS, ATTACHMENTS, EVENT_INDEX, GROUPS, MEMBER_CHANGES, MEMBERS, MESSAGES,
    PROJECTION_ERRORS, REACTIONS, RESPONSES,
};
use crate::writer::{Fetched, Writer};

/// How far apart a pushed announcement and the same one pulled may have
/// been seen: the platform retried a delivery for two days.
const ANNOUNCEMENT_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;

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

/// `text` as stored: PostgreSQL text cannot hold NUL (JSON can, escaped),
/// so on every backend a NUL is stored as U+FFFD.
pub(crate) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{fffd}").into()
    } else {
        text.into()
    }
}

/// `sql` with `args` bound in order.
pub(crate) fn query(sql: &str, args: Vec<Arg>) -> Query<'_, Any, AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Text(Some(v)) if v.contains('\0') => query.bind(storable(&v).into_owned()),
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

/// Inserts `rows` (each a value per column of `def`, in order) into
/// `target` with multi-row statements ending in `tail`, in chunks, where
/// `tail` ends in a `RETURNING` clause; returns what it gives, one row per
/// returned row, each as its columns.
pub(crate) async fn insert_returning(
    conn: &mut dyn Writer,
    def: &TableDef,
    target: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<Vec<Fetched>, sqlx::Error> {
    let mut returned = Vec::new();
    for (sql, args) in chunked(conn, def, target, tail, rows) {
        returned.extend(conn.fetch_all(&sql, args).await?);
    }
    Ok(returned)
}

/// [`insert_returning`] without `RETURNING`; the number of rows it changed
/// (rows an `ON CONFLICT DO NOTHING` left out are not counted).
pub(crate) async fn insert_counted(
    conn: &mut dyn Writer,
    def: &TableDef,
    target: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    for (sql, args) in chunked(conn, def, target, tail, rows) {
        changed += conn.execute(&sql, args).await?;
    }
    Ok(changed)
}

/// The statements that insert `rows` into `target` (`def`'s columns)
/// with `… VALUES … tail`, a chunk of rows each, with their values.
fn chunked(
    conn: &dyn Writer,
    def: &TableDef,
    target: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Vec<(String, Vec<Arg>)> {
    let backend = conn.backend();
    let sqlite = backend == Backend::Sqlite;
    let head = def.insert_head_with(backend.insert_rows(), target);
    let cols = def.columns.len();
    let mut rows = rows.into_iter();
    chunk_sizes(rows.len())
        .into_iter()
        .map(|size| {
            let sql = format!(
                "{head} VALUES {}{tail}",
                // The statements made here carry no parameter but the
                // rows', so SQLite's may number them by position.
                placeholders(sqlite, cols, size)
            );
            let args: Vec<Arg> = rows.by_ref().take(size).flatten().collect();
            debug_assert_eq!(args.len(), cols * size, "{head}");
            (sql, args)
        })
        .collect()
}

/// Which projected tables a write goes to, and under which names: the live
/// tables the projector keeps current, or the ones a rebuild builds beside
/// them.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    pub backend: Backend,
    names: BTreeMap<&'static str, String>,
}

impl Targets {
    /// The tables themselves.
    pub fn live(backend: Backend, tables: &BTreeSet<&'static str>) -> Targets {
        Targets {
            backend,
            names: tables.iter().map(|t| (*t, (*t).to_owned())).collect(),
        }
    }

    /// The tables a rebuild builds beside `tables`.
    pub fn building(backend: Backend, tables: &BTreeSet<&'static str>) -> Targets {
        Targets {
            backend,
            names: tables.iter().map(|t| (*t, building_name(t))).collect(),
        }
    }

    /// Where `table`'s rows go; `None` to leave them out.
    pub fn get(&self, table: &TableDef) -> Option<&str> {
        self.names.get(table.name).map(String::as_str)
    }
}

/// The name a rebuild builds `table` under.
pub(crate) fn building_name(table: &str) -> String {
    format!("{table}{}", crate::project::rebuild::BUILDING_SUFFIX)
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
    /// Members (and subscribers) a listing no longer named.
    pub members_removed: u64,
}

impl std::ops::AddAssign for Applied {
    fn add_assign(&mut self, other: Applied) {
        self.responses_new += other.responses_new;
        self.responses_updated += other.responses_updated;
        self.responses_unchanged += other.responses_unchanged;
        self.members_removed += other.members_removed;
    }
}

/// Writes `rows` into `targets` on `conn` (inside the caller's transaction).
pub(crate) async fn apply(
    conn: &mut dyn Writer,
    rows: Rows,
    targets: &Targets,
) -> Result<Applied, sqlx::Error> {
    let Rows {
        event_index,
        groups,
        actions,
        responses,
        messages,
        attachments,
        member_changes,
        members,
        reactions,
        errors,
    } = rows;
    let mut applied = Applied::default();
    if let Some(target) = targets.get(&EVENT_INDEX) {
        // One row per event of the log, written with the batch that moves
        // the watermark past it: none can be stored yet.
        let rows = event_index.into_iter().map(|r| r.args()).collect();
        let tail = EVENT_INDEX.upsert_tail(target, &[]);
        append(conn, &EVENT_INDEX, target, &tail, rows).await?;
    }
    write_groups(conn, targets, groups).await?;
    write_actions(conn, targets, actions).await?;
    applied += write_responses(conn, targets, responses).await?;
    insert_once(conn, targets, &MESSAGES, messages, |r| r.args()).await?;
    insert_once(conn, targets, &ATTACHMENTS, attachments, |r| r.args()).await?;
    insert_once(conn, targets, &MEMBER_CHANGES, member_changes, |r| r.args()).await?;
    applied.members_removed += write_members(conn, targets, members).await?;
    if let Some(target) = targets.get(&REACTIONS) {
        let key = |r: &crate::normalise::reaction::ReactionRow| r.reference_id.clone();
        upsert_in_order(conn, &REACTIONS, target, reactions, key, |r| r.args()).await?;
    }
    insert_once(conn, targets, &PROJECTION_ERRORS, errors, |r| r.args()).await?;
    Ok(applied)
}

/// Rows keyed by their event (or position): inserted once, never changed.
async fn insert_once<T>(
    conn: &mut dyn Writer,
    targets: &Targets,
    def: &TableDef,
    rows: Vec<T>,
    args: impl Fn(T) -> Vec<Arg>,
) -> Result<(), sqlx::Error> {
    let Some(target) = targets.get(def) else {
        return Ok(());
    };
    if rows.is_empty() {
        return Ok(());
    }
    let tail = def.upsert_tail(target, &[]);
    let rows = rows.into_iter().map(args).collect();
    insert_counted(conn, def, target, &tail, rows).await?;
    Ok(())
}

/// Splits rows into those whose key occurs once (sorted by key) and the
/// others (sorted by key, log order kept among equal keys).
fn split_unique<T, K: Ord + Clone>(mut items: Vec<T>, key: impl Fn(&T) -> K) -> (Vec<T>, Vec<T>) {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for item in &items {
        *counts.entry(key(item)).or_default() += 1;
    }
    items.sort_by_key(|item| key(item));
    items.into_iter().partition(|item| counts[&key(item)] == 1)
}

/// Upserts by the declaration's merge rules: unique keys in bulk, repeated
/// ones one at a time in log order.
async fn upsert_in_order<T, K: Ord + Clone>(
    conn: &mut dyn Writer,
    def: &TableDef,
    target: &str,
    rows: Vec<T>,
    key: impl Fn(&T) -> K,
    args: impl Fn(T) -> Vec<Arg>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let tail = def.upsert_tail(target, &[]);
    let (unique, repeated) = split_unique(rows, key);
    insert_counted(
        conn,
        def,
        target,
        &tail,
        unique.into_iter().map(&args).collect(),
    )
    .await?;
    for row in repeated {
        insert_counted(conn, def, target, &tail, vec![args(row)]).await?;
    }
    Ok(())
}

// ---- groups -------------------------------------------------------------

async fn write_groups(
    conn: &mut dyn Writer,
    targets: &Targets,
    mut rows: Vec<GroupRow>,
) -> Result<(), sqlx::Error> {
    let Some(target) = targets.get(&GROUPS) else {
        return Ok(());
    };
    // Few rows, and `removed_at` is only written by rows that say it: one
    // at a time (a stable sort keeps the log order per key).
    rows.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    let keep_removed = GROUPS.upsert_tail(target, &["removed_at"]);
    let set_removed = GROUPS.upsert_tail(target, &[]);
    for row in rows {
        let tail = if row.removed_at.is_some() {
            &set_removed
        } else {
            &keep_removed
        };
        insert_counted(conn, &GROUPS, target, tail, vec![row.args()]).await?;
    }
    Ok(())
}

// ---- actions --------------------------------------------------------------

async fn write_actions(
    conn: &mut dyn Writer,
    targets: &Targets,
    rows: Vec<ActionRow>,
) -> Result<(), sqlx::Error> {
    let Some(target) = targets.get(&ACTIONS) else {
        return Ok(());
    };
    let (announcements, others): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(ActionRow::is_announcement);
    upsert_in_order(
        conn,
        &ACTIONS,
        target,
        others,
        |r| r.action_id.clone(),
        ActionRow::args,
    )
    .await?;
    for row in announcements {
        write_announcement(conn, targets.backend, target, row).await?;
    }
    Ok(())
}

/// An announcement's event carries no action id, so a pushed one is keyed
/// by its event until the same announcement is pulled (with its id): the
/// two are matched on group, title, text and sender, nearest in time within
/// [`ANNOUNCEMENT_WINDOW_MS`], and become one row keyed by the action id
/// (`docs/api/decisions.md`).
async fn write_announcement(
    conn: &mut dyn Writer,
    backend: Backend,
    target: &str,
    mut row: ActionRow,
) -> Result<(), sqlx::Error> {
    let tail = ACTIONS.upsert_tail(target, &[]);
    let stored = conn
        .fetch_optional(
            &format!("SELECT 1 FROM {target} WHERE action_id = $1"),
            vec![(&row.action_id).into()],
        )
        .await?
        .is_some();
    // Projected before (a batch again, a rebuild's catch-up): the row its
    // event went into, whatever key it has now.
    let merged = match (&row.event_id, stored) {
        (Some(event_id), false) => conn
            .fetch_optional(
                &format!("SELECT action_id FROM {target} WHERE event_id = $1 LIMIT 1"),
                vec![event_id.into()],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()?,
        _ => None,
    };
    if let Some(action_id) = merged {
        row.action_id = action_id;
    } else if !stored {
        let provisional = row.event_id.as_deref() == Some(row.action_id.as_str());
        let eq = match backend {
            Backend::Sqlite => "IS",
            Backend::Postgres => "IS NOT DISTINCT FROM",
        };
        // A pushed one looks for the pulled row it is; a pulled one for the
        // pushed row keyed by its event.
        let which = if provisional {
            "event_id IS NULL"
        } else {
            "event_id = action_id"
        };
        let found = conn
            .fetch_optional(
                &format!(
                    "SELECT action_id FROM {target} WHERE action_type = 'Announcement' AND {which} \
                 AND group_id {eq} $1 AND title {eq} $2 AND text {eq} $3 \
                 AND (creator_phone IS NULL OR $4 IS NULL OR creator_phone = $4) \
                 AND created_at BETWEEN $5 AND $6 \
                 ORDER BY ABS(created_at - $7), action_id LIMIT 1"
                ),
                vec![
                    (&row.group_id).into(),
                    (&row.title).into(),
                    (&row.text).into(),
                    (&row.creator_phone).into(),
                    row.created_at.map(|t| t - ANNOUNCEMENT_WINDOW_MS).into(),
                    row.created_at.map(|t| t + ANNOUNCEMENT_WINDOW_MS).into(),
                    row.created_at.into(),
                ],
            )
            .await?;
        if let Some(found) = found {
            let found = found.text(0)?;
            if provisional {
                row.action_id = found;
            } else {
                conn.execute(
                    &format!("UPDATE {target} SET action_id = $1 WHERE action_id = $2"),
                    vec![(&row.action_id).into(), found.into()],
                )
                .await?;
            }
        }
    }
    insert_counted(conn, &ACTIONS, target, &tail, vec![row.args()]).await?;
    Ok(())
}

// ---- responses and answers ----------------------------------------------

/// Replaces a stored response with a changed version — other answers, or
/// the same answers resubmitted as an update (`isUpdateResponse`) — unless
/// the stored one is newer: an update is never replaced by the original,
/// nor a version by an earlier `ResponseTime`.
fn response_guard(target: &str) -> String {
    format!(
        " WHERE ({target}.fingerprint <> excluded.fingerprint \
         OR {target}.is_update < excluded.is_update) \
         AND NOT ({target}.is_update = 1 AND excluded.is_update = 0) \
         AND ({target}.version_at IS NULL OR excluded.version_at IS NULL \
         OR excluded.version_at >= {target}.version_at) \
         RETURNING response_id, updated_at"
    )
}

async fn write_responses(
    conn: &mut dyn Writer,
    targets: &Targets,
    rows: Vec<ResponseRow>,
) -> Result<Applied, sqlx::Error> {
    let mut applied = Applied::default();
    let (Some(target), Some(answers)) = (targets.get(&RESPONSES), targets.get(&ANSWERS)) else {
        return Ok(applied);
    };
    if rows.is_empty() {
        return Ok(applied);
    }
    let tail = format!(
        "{}{}",
        RESPONSES.upsert_tail(target, &[]),
        response_guard(target)
    );
    let (unique, repeated) = split_unique(rows, |r| r.response_id.clone());

    let returned = insert_returning(
        conn,
        &RESPONSES,
        target,
        &tail,
        unique.iter().map(ResponseRow::args).collect(),
    )
    .await?;
    // Returned with no `updated_at`: inserted; with one: replaced; not
    // returned: kept as stored.
    let mut changed = HashMap::new();
    for row in returned {
        let id = row.text(0)?;
        let replaced = row.int(1)?.is_some();
        changed.insert(id, replaced);
    }
    let mut fresh = Vec::new();
    for row in &unique {
        match changed.get(&row.response_id) {
            Some(false) => {
                applied.responses_new += 1;
                fresh.push(row);
            }
            Some(true) => {
                applied.responses_updated += 1;
                clear_answers(conn, answers, &row.response_id).await?;
                fresh.push(row);
            }
            None => applied.responses_unchanged += 1,
        }
    }
    write_answers(conn, answers, &fresh).await?;
    for row in repeated {
        let returned = insert_returning(conn, &RESPONSES, target, &tail, vec![row.args()]).await?;
        match returned.first() {
            Some(r) if r.int(1)?.is_some() => {
                applied.responses_updated += 1;
                clear_answers(conn, answers, &row.response_id).await?;
                write_answers(conn, answers, &[&row]).await?;
            }
            Some(_) => {
                applied.responses_new += 1;
                write_answers(conn, answers, &[&row]).await?;
            }
            None => applied.responses_unchanged += 1,
        }
    }
    Ok(applied)
}

async fn clear_answers(
    conn: &mut dyn Writer,
    target: &str,
    response_id: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        &format!("DELETE FROM {target} WHERE response_id = $1"),
        vec![response_id.into()],
    )
    .await?;
    Ok(())
}

/// Adds the answers of responses just stored for the first time or just
/// replaced (their old answers cleared), with no upsert — no answer of
/// such a response can be stored, since answers are only ever written
/// here, in the transaction that writes their response — so by `COPY`
/// where the connection can ([`append`]). An upsert's conflict check was a
/// sixth of the projector's server time.
async fn write_answers(
    conn: &mut dyn Writer,
    target: &str,
    responses: &[&ResponseRow],
) -> Result<(), sqlx::Error> {
    let rows: Vec<Vec<Arg>> = responses.iter().flat_map(|r| r.answer_args()).collect();
    append(conn, &ANSWERS, target, "", rows).await
}

/// Rows enough for a `COPY` to cost less than the `INSERT`s it replaces:
/// it takes two round trips where a multi-row `INSERT` takes one.
const COPY_AT_LEAST: usize = 64;

/// Adds `rows` to `target`, none of whose keys can be stored yet (the
/// callers say why): by `COPY` where the connection can and the rows are
/// many, else by `INSERT … tail`.
async fn append(
    conn: &mut dyn Writer,
    def: &TableDef,
    target: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    if rows.len() >= COPY_AT_LEAST && conn.copy_rows(target, &def.column_list(), &rows).await? {
        return Ok(());
    }
    insert_counted(conn, def, target, tail, rows).await?;
    Ok(())
}

// ---- members --------------------------------------------------------------

/// Member changes in log order: upserts and removals of single members in
/// bulk where their keys allow it, a finished listing (which removes every
/// member of its kind it did not list) between them.
async fn write_members(
    conn: &mut dyn Writer,
    targets: &Targets,
    ops: Vec<MemberOp>,
) -> Result<u64, sqlx::Error> {
    let Some(target) = targets.get(&MEMBERS) else {
        return Ok(0);
    };
    let mut removed = 0;
    let mut segment = Vec::new();
    for op in ops {
        match op {
            MemberOp::ListingDone {
                group_id,
                subscribers,
                since,
            } => {
                write_member_ops(conn, target, std::mem::take(&mut segment)).await?;
                let which = if subscribers { "=" } else { "<>" };
                removed += conn
                    .execute(
                        &format!(
                            "DELETE FROM {target} WHERE group_id = $1 \
                         AND COALESCE(role, '') {which} '{SUBSCRIBER}' \
                         AND (listed_at IS NULL OR listed_at < $2)"
                        ),
                        vec![group_id.into(), since.into()],
                    )
                    .await?;
            }
            op => segment.push(op),
        }
    }
    write_member_ops(conn, target, segment).await?;
    Ok(removed)
}

async fn write_member_ops(
    conn: &mut dyn Writer,
    target: &str,
    ops: Vec<MemberOp>,
) -> Result<(), sqlx::Error> {
    if ops.is_empty() {
        return Ok(());
    }
    let (unique, repeated) = split_unique(ops, |op| {
        op.key()
            .map(|(g, m)| (g.to_owned(), m.to_owned()))
            .unwrap_or_default()
    });
    let tail = MEMBERS.upsert_tail(target, &[]);
    let (upserts, removals): (Vec<_>, Vec<_>) = unique
        .into_iter()
        .partition(|op| matches!(op, MemberOp::Upsert(_)));
    let upserts = upserts
        .into_iter()
        .filter_map(|op| match op {
            MemberOp::Upsert(row) => Some(row.args()),
            _ => None,
        })
        .collect();
    insert_counted(conn, &MEMBERS, target, &tail, upserts).await?;
    for op in removals.into_iter().chain(repeated) {
        match op {
            MemberOp::Upsert(row) => {
                insert_counted(conn, &MEMBERS, target, &tail, vec![row.args()]).await?;
            }
            MemberOp::Remove {
                group_id,
                member_id,
            } => {
                conn.execute(
                    &format!("DELETE FROM {target} WHERE group_id = $1 AND member_id = $2"),
                    vec![group_id.into(), member_id.into()],
                )
                .await?;
            }
            // Listings end segments: none is in one.
            MemberOp::ListingDone { .. } => {}
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

//! Every table of the sink (`docs/schema.md` describes each column).

use super::Merge::{
    Coalesce, Earliest, Fixed, KeepFirst, Key, Replace, ReplaceWhenGiven, ReplacedAt,
};
use super::SqlType::{BigInt, Blob, Double, Int, Position, Serial, Text};
use super::{Index, Kind, TableDef, col, req};

// ---- logs -----------------------------------------------------------------

/// The event log: every webhook event, once per `eventId`, its body as
/// received. Positions are shared with `pull_log`.
pub(crate) const EVENTS: TableDef = TableDef {
    name: "events",
    kind: Kind::Log,
    version: 1,
    columns: &[
        req("position", Position, Key),
        req("event_id", Text, Fixed),
        req("event_type", Text, Fixed),
        req("received_at", BigInt, Fixed),
        req("payload", Text, Fixed),
    ],
    key: &["position"],
    unique: &["event_id"],
    indexes: &[],
};

/// The pull log: every document the API answered a sync with.
pub(crate) const PULL_LOG: TableDef = TableDef {
    name: "pull_log",
    kind: Kind::Log,
    version: 1,
    columns: &[
        req("position", Position, Key),
        req("fetched_at", BigInt, Fixed),
        req("operation", Text, Fixed),
        col("group_id", Text, Fixed),
        req("request", Text, Fixed),
        req("body", Text, Fixed),
    ],
    key: &["position"],
    unique: &[],
    indexes: &[],
};

/// Authenticated bodies that were not events.
pub(crate) const QUARANTINE: TableDef = TableDef {
    name: "quarantine",
    kind: Kind::Log,
    version: 1,
    columns: &[
        req("id", Serial, Key),
        req("body", Blob, Fixed),
        req("reason_code", Text, Fixed),
        req("reason", Text, Fixed),
        req("received_at", BigInt, Fixed),
    ],
    key: &["id"],
    unique: &[],
    indexes: &[],
};

/// The logs' counters: `head`, the last position given out (positions are
/// taken from it inside the appending transaction, so they become visible
/// in order).
pub(crate) const LOG_STATE: TableDef = TableDef {
    name: "log_state",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[req("name", Text, Key), req("value", BigInt, Replace)],
    key: &["name"],
    unique: &[],
    indexes: &[],
};

/// What an SQLite database file keeps in its logs' own file, `<file>-log`
/// (`crate::log_file`): everything an acknowledgement or a sync appends to,
/// so that appending never waits for the projector's write lock.
pub(crate) const LOG_FILE: [&TableDef; 5] =
    [&EVENTS, &PULL_LOG, &QUARANTINE, &SYNC_STATE, &LOG_STATE];

// ---- bookkeeping ------------------------------------------------------------

/// Pull cursors.
pub(crate) const SYNC_STATE: TableDef = TableDef {
    name: "sync_state",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[
        req("sync_key", Text, Key),
        col("cursor_ms", BigInt, Replace),
        req("updated_at", BigInt, Replace),
    ],
    key: &["sync_key"],
    unique: &[],
    indexes: &[],
};

/// Named positions and who holds which role: `watermark` (the last position projected), `generation`
/// (bumped whenever tables are swapped), `handler_watermark`, `projector`,
/// `rebuild`.
pub(crate) const SINK_STATE: TableDef = TableDef {
    name: "sink_state",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[
        req("name", Text, Key),
        col("value", BigInt, Replace),
        col("detail", Text, Replace),
        col("updated_at", BigInt, Replace),
    ],
    key: &["name"],
    unique: &[],
    indexes: &[],
};

/// Which version of each projected table's declaration the database holds.
pub(crate) const PROJECTION_TABLES: TableDef = TableDef {
    name: "projection_tables",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[
        req("table_name", Text, Key),
        req("version", BigInt, Replace),
        req("fingerprint", Text, Replace),
        req("built_at", BigInt, Replace),
        req("built_to", BigInt, Replace),
    ],
    key: &["table_name"],
    unique: &[],
    indexes: &[],
};

/// The stored time zone's UTC offsets (`kaizala sql set-timezone`): each row
/// holds from `starts_at` to the next row's, and a time before the first
/// row, or any time when the table is empty (UTC), is at offset 0. The
/// daily views and `--excel` read local times through it, the same way on
/// both backends; the zone's name is in `sink_state` (`time_zone`).
pub(crate) const TIME_ZONE_OFFSETS: TableDef = TableDef {
    name: "time_zone_offsets",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[
        req("starts_at", BigInt, Key),
        req("offset_ms", BigInt, Replace),
    ],
    key: &["starts_at"],
    unique: &[],
    indexes: &[],
};

/// The webhook handlers' queue: events due, failed (with their next
/// attempt) and dead-lettered. Events enter it lazily from the log.
pub(crate) const HANDLER_QUEUE: TableDef = TableDef {
    name: "handler_queue",
    kind: Kind::Bookkeeping,
    version: 1,
    columns: &[
        req("event_id", Text, Key),
        req("position", BigInt, Fixed),
        req("attempts", Int, Replace),
        col("due_at", BigInt, Replace),
        col("dead_at", BigInt, Replace),
        col("last_error", Text, Replace),
    ],
    key: &["event_id"],
    unique: &[],
    indexes: &[
        Index {
            name: "handler_queue_due",
            columns: "due_at, position",
            filter: Some("dead_at IS NULL"),
        },
        Index {
            name: "handler_queue_dead",
            columns: "dead_at, position",
            filter: Some("dead_at IS NOT NULL"),
        },
    ],
};

// ---- projections ------------------------------------------------------------

/// One row per event: where and by whom it happened.
pub(crate) const EVENT_INDEX: TableDef = TableDef {
    name: "event_index",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("event_id", Text, Key),
        req("position", BigInt, Fixed),
        req("event_type", Text, Fixed),
        col("object_id", Text, Fixed),
        col("object_type", Text, Fixed),
        col("group_id", Text, Fixed),
        col("from_user_id", Text, Fixed),
        req("received_at", BigInt, Fixed),
    ],
    key: &["event_id"],
    unique: &[],
    indexes: &[
        Index {
            name: "event_index_received",
            columns: "received_at",
            filter: None,
        },
        Index {
            name: "event_index_type_received",
            columns: "event_type, received_at",
            filter: None,
        },
        Index {
            name: "event_index_group_received",
            columns: "group_id, received_at",
            filter: None,
        },
    ],
};

pub(crate) const GROUPS: TableDef = TableDef {
    name: "groups",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("group_id", Text, Key),
        col("group_name", Text, Coalesce),
        col("group_type", Text, Coalesce),
        col("image_url", Text, Coalesce),
        col("parent_group_id", Text, Coalesce),
        col("welcome_message", Text, Coalesce),
        col("member_count", BigInt, Coalesce),
        col("user_count", BigInt, Coalesce),
        col("removed_at", BigInt, ReplaceWhenGiven),
        req("first_seen_at", BigInt, Fixed),
        req("updated_at", BigInt, Replace),
    ],
    key: &["group_id"],
    unique: &[],
    indexes: &[],
};

pub(crate) const MEMBERS: TableDef = TableDef {
    name: "members",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("group_id", Text, Key),
        req("member_id", Text, Key),
        col("phone", Text, Coalesce),
        col("name", Text, Coalesce),
        col("role", Text, Coalesce),
        col("is_provisioned", Int, Coalesce),
        col("profile_pic", Text, Coalesce),
        col("joined_at", BigInt, KeepFirst),
        col("listed_at", BigInt, Coalesce),
        req("updated_at", BigInt, Replace),
    ],
    key: &["group_id", "member_id"],
    unique: &[],
    indexes: &[],
};

pub(crate) const MEMBER_CHANGES: TableDef = TableDef {
    name: "member_changes",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("event_id", Text, Key),
        col("group_id", Text, Fixed),
        col("member_id", Text, Fixed),
        col("phone", Text, Fixed),
        col("name", Text, Fixed),
        col("role", Text, Fixed),
        req("change_type", Text, Fixed),
        col("by_user_id", Text, Fixed),
        col("by_user_name", Text, Fixed),
        req("changed_at", BigInt, Fixed),
    ],
    key: &["event_id"],
    unique: &[],
    indexes: &[Index {
        name: "member_changes_group",
        columns: "group_id, changed_at",
        filter: None,
    }],
};

pub(crate) const MESSAGES: TableDef = TableDef {
    name: "messages",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("event_id", Text, Key),
        col("group_id", Text, Fixed),
        col("sender_id", Text, Fixed),
        col("sender_phone", Text, Fixed),
        col("sender_name", Text, Fixed),
        col("text", Text, Fixed),
        req("sent_at", BigInt, Fixed),
    ],
    key: &["event_id"],
    unique: &[],
    indexes: &[
        Index {
            name: "messages_group_sent",
            columns: "group_id, sent_at",
            filter: None,
        },
        Index {
            name: "messages_sent",
            columns: "sent_at",
            filter: None,
        },
    ],
};

pub(crate) const ATTACHMENTS: TableDef = TableDef {
    name: "attachments",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("event_id", Text, Key),
        req("item_index", Int, Key),
        col("group_id", Text, Fixed),
        col("sender_id", Text, Fixed),
        col("sender_name", Text, Fixed),
        col("action_type", Text, Fixed),
        col("caption", Text, Fixed),
        col("media_url", Text, Fixed),
        col("file_name", Text, Fixed),
        req("sent_at", BigInt, Fixed),
    ],
    key: &["event_id", "item_index"],
    unique: &[],
    indexes: &[Index {
        name: "attachments_group_sent",
        columns: "group_id, sent_at",
        filter: None,
    }],
};

pub(crate) const ACTIONS: TableDef = TableDef {
    name: "actions",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("action_id", Text, Key),
        col("group_id", Text, Coalesce),
        col("action_type", Text, Coalesce),
        col("package_id", Text, Coalesce),
        col("reference_id", Text, Coalesce),
        col("event_id", Text, Coalesce),
        col("title", Text, Coalesce),
        col("text", Text, Coalesce),
        col("creator_id", Text, Coalesce),
        col("creator_phone", Text, Coalesce),
        col("creator_name", Text, Coalesce),
        col("created_at", BigInt, Earliest),
        col("expires_at", BigInt, Coalesce),
        col("is_anonymous", Int, Coalesce),
        col("response_count", BigInt, Coalesce),
        col("questions", Text, Coalesce),
        col("body", Text, Coalesce),
        req("first_seen_at", BigInt, Fixed),
        req("updated_at", BigInt, Replace),
    ],
    key: &["action_id"],
    unique: &[],
    indexes: &[
        Index {
            name: "actions_group",
            columns: "group_id, action_type",
            filter: None,
        },
        Index {
            name: "actions_reference",
            columns: "reference_id",
            filter: None,
        },
    ],
};

pub(crate) const RESPONSES: TableDef = TableDef {
    name: "responses",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("response_id", Text, Key),
        col("action_id", Text, Coalesce),
        col("group_id", Text, Coalesce),
        col("package_id", Text, Coalesce),
        col("responder_id", Text, Coalesce),
        col("responder_phone", Text, Coalesce),
        col("responder_name", Text, Coalesce),
        col("is_anonymous", Int, Coalesce),
        col("is_completed", Int, Coalesce),
        req("is_update", Int, Replace),
        req("responded_at", BigInt, Fixed),
        col("version_at", BigInt, Replace),
        req("first_seen_at", BigInt, Fixed),
        col("updated_at", BigInt, ReplacedAt),
        req("fingerprint", Text, Replace),
        req("details", Text, Replace),
    ],
    key: &["response_id"],
    unique: &[],
    indexes: &[Index {
        name: "responses_action",
        columns: "action_id, responded_at",
        filter: None,
    }],
};

pub(crate) const ANSWERS: TableDef = TableDef {
    name: "answers",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("response_id", Text, Key),
        req("question_index", Int, Key),
        col("action_id", Text, Replace),
        col("title", Text, Replace),
        col("question_type", Text, Replace),
        req("is_invisible", Int, Replace),
        col("text_value", Text, Replace),
        col("number_value", Double, Replace),
        col("json_value", Text, Replace),
    ],
    key: &["response_id", "question_index"],
    unique: &[],
    indexes: &[Index {
        name: "answers_action_question",
        columns: "action_id, question_index",
        filter: None,
    }],
};

pub(crate) const REACTIONS: TableDef = TableDef {
    name: "reactions",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("reference_id", Text, Key),
        col("group_id", Text, Replace),
        col("source_group_id", Text, Replace),
        req("likes", BigInt, Replace),
        req("comments", BigInt, Replace),
        col("counts", Text, Replace),
        req("synced_at", BigInt, Replace),
    ],
    key: &["reference_id"],
    unique: &[],
    indexes: &[],
};

/// Log entries the projector could not map, with the JSON path at fault.
pub(crate) const PROJECTION_ERRORS: TableDef = TableDef {
    name: "projection_errors",
    kind: Kind::Projected,
    version: 1,
    columns: &[
        req("position", BigInt, Key),
        req("log", Text, Fixed),
        req("entry_id", Text, Fixed),
        req("entry_type", Text, Fixed),
        col("path", Text, Fixed),
        req("message", Text, Fixed),
        req("logged_at", BigInt, Fixed),
    ],
    key: &["position"],
    unique: &[],
    indexes: &[],
};

/// Every table, logs first, in the order the schema is documented.
pub(crate) const ALL: [&TableDef; 20] = [
    &EVENTS,
    &PULL_LOG,
    &QUARANTINE,
    &LOG_STATE,
    &SYNC_STATE,
    &SINK_STATE,
    &PROJECTION_TABLES,
    &TIME_ZONE_OFFSETS,
    &HANDLER_QUEUE,
    &EVENT_INDEX,
    &GROUPS,
    &MEMBERS,
    &MEMBER_CHANGES,
    &MESSAGES,
    &ATTACHMENTS,
    &ACTIONS,
    &RESPONSES,
    &ANSWERS,
    &REACTIONS,
    &PROJECTION_ERRORS,
];

pub(crate) fn projected() -> impl Iterator<Item = &'static TableDef> {
    ALL.into_iter().filter(|t| t.kind == Kind::Projected)
}

/// The declaration of `name`.
pub(crate) fn by_name(name: &str) -> Option<&'static TableDef> {
    ALL.into_iter().find(|t| t.name == name)
}

/// Tables written together: a response's answers are replaced with it, so
/// rebuilding one means rebuilding both.
pub(crate) fn written_with(name: &str) -> &'static [&'static str] {
    match name {
        "responses" | "answers" => &["responses", "answers"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each projected table's declaration, pinned to its version: a change
    /// to a declaration must come with a new version (databases built with
    /// the old one then rebuild the table from the logs). Update the
    /// fingerprint here when you bump the version.
    #[test]
    fn projected_declarations_are_pinned_to_their_versions() {
        let pinned: &[(&str, u32, &str)] = &[
            ("event_index", 1, "cfd646a5fb2bc2cb"),
            ("groups", 1, "b811daa3c68e0a5a"),
            ("members", 1, "b90408231c6d9255"),
            ("member_changes", 1, "5c1b5892df01aba5"),
            ("messages", 1, "a44a2eff4b710cd1"),
            ("attachments", 1, "7907e38e67654ff1"),
            ("actions", 1, "fb6625af6e66c188"),
            ("responses", 1, "a304270faae6891a"),
            ("answers", 1, "c708f56a2aa34ed8"),
            ("reactions", 1, "f2e35a7c3a1862f6"),
            ("projection_errors", 1, "5e5bda3b1d4ea65a"),
        ];
        let mut stale = Vec::new();
        for table in projected() {
            let found = pinned.iter().find(|(name, _, _)| *name == table.name);
            let now = (table.version, table.fingerprint());
            if found.map(|(_, v, f)| (*v, f.to_string())) != Some(now.clone()) {
                stale.push(format!("(\"{}\", {}, \"{}\"),", table.name, now.0, now.1));
            }
        }
        assert!(
            stale.is_empty(),
            "projected tables changed: bump their version and pin them:\n{}",
            stale.join("\n")
        );
    }
}

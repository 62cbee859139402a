//! Every view of the sink, with its SQL per dialect.

use super::{Out, Stable, ViewBody, ViewDef};

/// Responses per action per day in the stored time zone. `day_start` is
/// the day's midnight counted as if it were UTC (so a chart labels it in
/// UTC and shows the local day).
pub(crate) const RESPONSES_PER_DAY: ViewDef = ViewDef {
    name: "responses_per_day",
    reads: &["responses"],
    body: ViewBody::Sql {
        sqlite: concat!(
            "
SELECT
    action_id,
    strftime('%Y-%m-%d', ",
            local_ms!("responded_at"),
            " / 1000, 'unixepoch') AS day,
    (",
            local_ms!("responded_at"),
            " / 86400000) * 86400000 AS day_start,
    COUNT(*) AS responses
FROM responses
GROUP BY action_id, day, day_start"
        ),
        postgres: concat!(
            "
SELECT
    action_id,
    to_char(to_timestamp(",
            local_ms!("responded_at"),
            " / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
    (",
            local_ms!("responded_at"),
            " / 86400000) * 86400000 AS day_start,
    COUNT(*) AS responses
FROM responses
GROUP BY action_id, day, day_start"
        ),
    },
};

/// How often each option was chosen, per option question (current answers).
pub(crate) const ANSWER_DISTRIBUTION: ViewDef = ViewDef {
    name: "answer_distribution",
    reads: &["answers"],
    body: ViewBody::Sql {
        sqlite: "
SELECT
    a.action_id AS action_id,
    a.question_index AS question_index,
    a.title AS question_title,
    o.value AS option,
    COUNT(*) AS count
FROM answers AS a, json_each(a.json_value) AS o
WHERE a.question_type IN ('SingleOption', 'MultiOption')
  AND a.json_value IS NOT NULL
GROUP BY a.action_id, a.question_index, a.title, o.value",
        postgres: "
SELECT
    a.action_id AS action_id,
    a.question_index AS question_index,
    a.title AS question_title,
    o.value AS option,
    COUNT(*) AS count
FROM answers AS a
CROSS JOIN LATERAL jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(a.json_value::jsonb) = 'array' THEN a.json_value::jsonb
         ELSE jsonb_build_array(a.json_value::jsonb) END
) AS o(value)
WHERE a.question_type IN ('SingleOption', 'MultiOption')
  AND a.json_value IS NOT NULL
GROUP BY a.action_id, a.question_index, a.title, o.value",
    },
};

/// Every view.
pub(crate) const ALL: [&ViewDef; 14] = [
    &RESPONSES_PER_DAY,
    &ANSWER_DISTRIBUTION,
    &KZ_GROUPS,
    &KZ_MEMBERS,
    &KZ_MEMBER_CHANGES,
    &KZ_MESSAGES,
    &KZ_ATTACHMENTS,
    &KZ_ACTIONS,
    &KZ_RESPONSES,
    &KZ_ANSWERS,
    &KZ_REACTIONS,
    &KZ_EVENTS,
    &KZ_RESPONSES_DAILY,
    &KZ_ANSWER_COUNTS,
];

/// A fingerprint of every view's SQL in `backend`'s dialect: the database
/// notes the one its views were made by, and a release whose views differ
/// makes them anew.
pub(crate) fn fingerprint(backend: crate::db::Backend) -> String {
    let sql: Vec<String> = ALL.iter().map(|view| view.create_sql(backend)).collect();
    crate::fnv::fnv1a(&sql.join(";"))
}

/// The view named `name`.
pub(crate) fn by_name(name: &str) -> Option<&'static ViewDef> {
    ALL.into_iter().find(|view| view.name == name)
}

// ---- the dashboard contract ------------------------------------------------
//
// The `kz_*` views are what dashboards are built on (docs/schema.md):
// columns are only ever added to them, names are joined in, and each
// column has its dialect's native type. The tables under them may change.

/// A view of the contract over `reads`.
const fn stable(
    name: &'static str,
    reads: &'static [&'static str],
    view: &'static Stable,
) -> ViewDef {
    ViewDef {
        name,
        reads,
        body: ViewBody::Stable(view),
    }
}

pub(crate) const KZ_GROUPS: ViewDef = stable(
    "kz_groups",
    &["groups"],
    &Stable {
        columns: &[
            ("group_id", Out::Plain("g.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("group_type", Out::Plain("g.group_type")),
            ("parent_group_id", Out::Plain("g.parent_group_id")),
            ("parent_group_name", Out::Plain("p.group_name")),
            ("member_count", Out::Plain("g.member_count")),
            ("user_count", Out::Plain("g.user_count")),
            ("welcome_message", Out::Plain("g.welcome_message")),
            (
                "is_removed",
                Out::Flag("CASE WHEN g.removed_at IS NULL THEN 0 ELSE 1 END"),
            ),
            ("removed_at", Out::Time("g.removed_at")),
            ("first_seen_at", Out::Time("g.first_seen_at")),
            ("updated_at", Out::Time("g.updated_at")),
        ],
        from: "FROM groups AS g LEFT JOIN groups AS p ON p.group_id = g.parent_group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_MEMBERS: ViewDef = stable(
    "kz_members",
    &["members", "groups"],
    &Stable {
        columns: &[
            ("group_id", Out::Plain("m.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("member_id", Out::Plain("m.member_id")),
            ("member_name", Out::Plain("m.name")),
            ("phone", Out::Plain("m.phone")),
            ("role", Out::Plain("m.role")),
            ("is_provisioned", Out::Flag("m.is_provisioned")),
            ("joined_at", Out::Time("m.joined_at")),
            ("listed_at", Out::Time("m.listed_at")),
            ("updated_at", Out::Time("m.updated_at")),
        ],
        from: "FROM members AS m LEFT JOIN groups AS g ON g.group_id = m.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_MEMBER_CHANGES: ViewDef = stable(
    "kz_member_changes",
    &["member_changes", "groups"],
    &Stable {
        columns: &[
            ("event_id", Out::Plain("c.event_id")),
            ("group_id", Out::Plain("c.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("member_id", Out::Plain("c.member_id")),
            ("member_name", Out::Plain("c.name")),
            ("phone", Out::Plain("c.phone")),
            ("role", Out::Plain("c.role")),
            ("change_type", Out::Plain("c.change_type")),
            ("by_user_id", Out::Plain("c.by_user_id")),
            ("by_user_name", Out::Plain("c.by_user_name")),
            ("changed_at", Out::Time("c.changed_at")),
        ],
        from: "FROM member_changes AS c LEFT JOIN groups AS g ON g.group_id = c.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_MESSAGES: ViewDef = stable(
    "kz_messages",
    &["messages", "groups"],
    &Stable {
        columns: &[
            ("event_id", Out::Plain("m.event_id")),
            ("group_id", Out::Plain("m.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("sender_id", Out::Plain("m.sender_id")),
            ("sender_name", Out::Plain("m.sender_name")),
            ("sender_phone", Out::Plain("m.sender_phone")),
            ("text", Out::Plain("m.text")),
            ("sent_at", Out::Time("m.sent_at")),
        ],
        from: "FROM messages AS m LEFT JOIN groups AS g ON g.group_id = m.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_ATTACHMENTS: ViewDef = stable(
    "kz_attachments",
    &["attachments", "groups"],
    &Stable {
        columns: &[
            ("event_id", Out::Plain("a.event_id")),
            ("item_index", Out::Plain("a.item_index")),
            ("group_id", Out::Plain("a.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("sender_id", Out::Plain("a.sender_id")),
            ("sender_name", Out::Plain("a.sender_name")),
            ("attachment_type", Out::Plain("a.action_type")),
            ("caption", Out::Plain("a.caption")),
            ("media_url", Out::Plain("a.media_url")),
            ("file_name", Out::Plain("a.file_name")),
            ("sent_at", Out::Time("a.sent_at")),
        ],
        from: "FROM attachments AS a LEFT JOIN groups AS g ON g.group_id = a.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_ACTIONS: ViewDef = stable(
    "kz_actions",
    &["actions", "groups"],
    &Stable {
        columns: &[
            ("action_id", Out::Plain("a.action_id")),
            ("action_type", Out::Plain("a.action_type")),
            ("action_title", Out::Plain("a.title")),
            ("text", Out::Plain("a.text")),
            ("group_id", Out::Plain("a.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("package_id", Out::Plain("a.package_id")),
            ("creator_id", Out::Plain("a.creator_id")),
            ("creator_name", Out::Plain("a.creator_name")),
            ("creator_phone", Out::Plain("a.creator_phone")),
            ("created_at", Out::Time("a.created_at")),
            ("expires_at", Out::Time("a.expires_at")),
            ("is_anonymous", Out::Flag("a.is_anonymous")),
            ("response_count", Out::Plain("a.response_count")),
            ("questions", Out::Json("a.questions")),
            ("first_seen_at", Out::Time("a.first_seen_at")),
            ("updated_at", Out::Time("a.updated_at")),
        ],
        from: "FROM actions AS a LEFT JOIN groups AS g ON g.group_id = a.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_RESPONSES: ViewDef = stable(
    "kz_responses",
    &["responses", "actions", "groups"],
    &Stable {
        columns: &[
            ("response_id", Out::Plain("r.response_id")),
            ("action_id", Out::Plain("r.action_id")),
            ("action_title", Out::Plain("a.title")),
            ("action_type", Out::Plain("a.action_type")),
            ("group_id", Out::Plain("r.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("responder_id", Out::Plain("r.responder_id")),
            ("responder_name", Out::Plain("r.responder_name")),
            ("responder_phone", Out::Plain("r.responder_phone")),
            ("responded_at", Out::Time("r.responded_at")),
            ("is_anonymous", Out::Flag("r.is_anonymous")),
            ("is_completed", Out::Flag("r.is_completed")),
            ("is_update", Out::Flag("r.is_update")),
            ("updated_at", Out::Time("r.updated_at")),
            ("details", Out::Json("r.details")),
        ],
        from: "FROM responses AS r LEFT JOIN actions AS a ON a.action_id = r.action_id \
               LEFT JOIN groups AS g ON g.group_id = r.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_ANSWERS: ViewDef = stable(
    "kz_answers",
    &["answers", "responses", "actions", "groups"],
    &Stable {
        columns: &[
            ("response_id", Out::Plain("q.response_id")),
            ("question_index", Out::Plain("q.question_index")),
            ("question_title", Out::Plain("q.title")),
            ("question_type", Out::Plain("q.question_type")),
            ("action_id", Out::Plain("q.action_id")),
            ("action_title", Out::Plain("a.title")),
            ("group_id", Out::Plain("r.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("responder_id", Out::Plain("r.responder_id")),
            ("responder_name", Out::Plain("r.responder_name")),
            ("responded_at", Out::Time("r.responded_at")),
            ("is_invisible", Out::Flag("q.is_invisible")),
            ("text_value", Out::Plain("q.text_value")),
            ("number_value", Out::Plain("q.number_value")),
            ("json_value", Out::Json("q.json_value")),
        ],
        from: "FROM answers AS q JOIN responses AS r ON r.response_id = q.response_id \
               LEFT JOIN actions AS a ON a.action_id = q.action_id \
               LEFT JOIN groups AS g ON g.group_id = r.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_REACTIONS: ViewDef = stable(
    "kz_reactions",
    &["reactions", "actions", "groups"],
    &Stable {
        columns: &[
            ("reference_id", Out::Plain("x.reference_id")),
            ("action_id", Out::Plain("a.action_id")),
            ("action_title", Out::Plain("a.title")),
            ("group_id", Out::Plain("x.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("likes", Out::Plain("x.likes")),
            ("comments", Out::Plain("x.comments")),
            ("counts", Out::Json("x.counts")),
            ("synced_at", Out::Time("x.synced_at")),
        ],
        from: "FROM reactions AS x \
               LEFT JOIN actions AS a ON a.action_id = x.reference_id \
               LEFT JOIN groups AS g ON g.group_id = x.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_EVENTS: ViewDef = stable(
    "kz_events",
    &["event_index", "groups"],
    &Stable {
        columns: &[
            ("event_id", Out::Plain("e.event_id")),
            ("position", Out::Plain("e.position")),
            ("event_type", Out::Plain("e.event_type")),
            ("object_id", Out::Plain("e.object_id")),
            ("object_type", Out::Plain("e.object_type")),
            ("group_id", Out::Plain("e.group_id")),
            ("group_name", Out::Plain("g.group_name")),
            ("from_user_id", Out::Plain("e.from_user_id")),
            ("received_at", Out::Time("e.received_at")),
        ],
        from: "FROM event_index AS e LEFT JOIN groups AS g ON g.group_id = e.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_RESPONSES_DAILY: ViewDef = stable(
    "kz_responses_daily",
    &["responses", "actions", "groups"],
    &Stable {
        columns: &[
            ("day", Out::Day("r.responded_at")),
            ("action_id", Out::Plain("r.action_id")),
            ("action_title", Out::Plain("MAX(a.title)")),
            ("group_id", Out::Plain("r.group_id")),
            ("group_name", Out::Plain("MAX(g.group_name)")),
            ("responses", Out::Plain("COUNT(*)")),
        ],
        // By position: the day is the first column, whichever the dialect.
        from: "FROM responses AS r LEFT JOIN actions AS a ON a.action_id = r.action_id \
               LEFT JOIN groups AS g ON g.group_id = r.group_id \
               GROUP BY 1, r.action_id, r.group_id",
        from_postgres: None,
    },
);

pub(crate) const KZ_ANSWER_COUNTS: ViewDef = stable(
    "kz_answer_counts",
    &["answers", "actions"],
    &Stable {
        columns: &[
            ("action_id", Out::Plain("q.action_id")),
            ("action_title", Out::Plain("MAX(a.title)")),
            ("question_index", Out::Plain("q.question_index")),
            ("question_title", Out::Plain("q.title")),
            ("answer", Out::Plain("o.value")),
            ("responses", Out::Plain("COUNT(*)")),
        ],
        from: "FROM answers AS q CROSS JOIN json_each(q.json_value) AS o \
               LEFT JOIN actions AS a ON a.action_id = q.action_id \
               WHERE q.question_type IN ('SingleOption', 'MultiOption') \
               AND q.json_value IS NOT NULL AND q.is_invisible = 0 \
               GROUP BY q.action_id, q.question_index, q.title, o.value",
        from_postgres: Some(
            "FROM answers AS q CROSS JOIN LATERAL jsonb_array_elements_text( \
             CASE WHEN jsonb_typeof(CAST(q.json_value AS jsonb)) = 'array' \
             THEN CAST(q.json_value AS jsonb) \
             ELSE jsonb_build_array(CAST(q.json_value AS jsonb)) END) AS o(value) \
             LEFT JOIN actions AS a ON a.action_id = q.action_id \
             WHERE q.question_type IN ('SingleOption', 'MultiOption') \
             AND q.json_value IS NOT NULL AND q.is_invisible = 0 \
             GROUP BY q.action_id, q.question_index, q.title, o.value",
        ),
    },
);

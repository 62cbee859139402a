//! Every view of the sink, with its SQL per dialect.

use super::ViewDef;

/// Responses per action per UTC day.
pub(crate) const RESPONSES_PER_DAY: ViewDef = ViewDef {
    name: "responses_per_day",
    reads: &["responses"],
    sqlite: "
SELECT
    action_id,
    strftime('%Y-%m-%d', responded_at / 1000, 'unixepoch') AS day,
    (responded_at / 86400000) * 86400000 AS day_start,
    COUNT(*) AS responses
FROM responses
GROUP BY action_id, day, day_start",
    postgres: "
SELECT
    action_id,
    to_char(to_timestamp(responded_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
    (responded_at / 86400000) * 86400000 AS day_start,
    COUNT(*) AS responses
FROM responses
GROUP BY action_id, day, day_start",
};

/// How often each option was chosen, per option question (current answers).
pub(crate) const ANSWER_DISTRIBUTION: ViewDef = ViewDef {
    name: "answer_distribution",
    reads: &["answers"],
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
};

/// Every view.
pub(crate) const ALL: [&ViewDef; 2] = [&RESPONSES_PER_DAY, &ANSWER_DISTRIBUTION];

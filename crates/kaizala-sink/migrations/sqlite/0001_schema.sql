-- kaizala-sink schema, SQLite flavour (docs/schema.md describes every column).
-- Timestamps are epoch milliseconds (UTC) in BIGINT columns; JSON is text.
-- Keep in step with ../postgres/0001_schema.sql: same tables, columns and keys.

-- Every event received, once per eventId, with its handler-queue state.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    object_id TEXT,
    object_type TEXT,
    group_id TEXT,
    from_user_id TEXT,
    received_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at BIGINT,
    handled_at BIGINT,
    dead_at BIGINT,
    last_error TEXT
);
CREATE INDEX events_due ON events (due_at, id) WHERE handled_at IS NULL AND dead_at IS NULL;
CREATE INDEX events_dead ON events (dead_at, id) WHERE dead_at IS NOT NULL;
CREATE INDEX events_type_received ON events (event_type, received_at);
CREATE INDEX events_received ON events (received_at);

-- Authenticated bodies that were not events.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE groups (
    group_id TEXT PRIMARY KEY,
    group_name TEXT,
    group_type TEXT,
    image_url TEXT,
    parent_group_id TEXT,
    welcome_message TEXT,
    member_count BIGINT,
    user_count BIGINT,
    removed_at BIGINT,
    first_seen_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE members (
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    phone TEXT,
    name TEXT,
    role TEXT,
    is_provisioned INTEGER,
    profile_pic TEXT,
    joined_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);

CREATE TABLE member_changes (
    event_id TEXT PRIMARY KEY,
    group_id TEXT,
    member_id TEXT,
    phone TEXT,
    name TEXT,
    role TEXT,
    change_type TEXT NOT NULL,
    by_user_id TEXT,
    by_user_name TEXT,
    changed_at BIGINT NOT NULL
);
CREATE INDEX member_changes_group ON member_changes (group_id, changed_at);

CREATE TABLE messages (
    event_id TEXT PRIMARY KEY,
    group_id TEXT,
    sender_id TEXT,
    sender_phone TEXT,
    sender_name TEXT,
    text TEXT,
    sent_at BIGINT NOT NULL
);
CREATE INDEX messages_group_sent ON messages (group_id, sent_at);
CREATE INDEX messages_sent ON messages (sent_at);

CREATE TABLE attachments (
    event_id TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    group_id TEXT,
    sender_id TEXT,
    sender_name TEXT,
    action_type TEXT,
    caption TEXT,
    media_url TEXT,
    file_name TEXT,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, item_index)
);
CREATE INDEX attachments_group_sent ON attachments (group_id, sent_at);

CREATE TABLE actions (
    action_id TEXT PRIMARY KEY,
    group_id TEXT,
    action_type TEXT,
    package_id TEXT,
    reference_id TEXT,
    title TEXT,
    text TEXT,
    creator_id TEXT,
    creator_phone TEXT,
    creator_name TEXT,
    created_at BIGINT,
    expires_at BIGINT,
    is_anonymous INTEGER,
    response_count BIGINT,
    questions TEXT,
    body TEXT,
    first_seen_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX actions_group ON actions (group_id, action_type);
CREATE INDEX actions_reference ON actions (reference_id);

CREATE TABLE responses (
    response_id TEXT PRIMARY KEY,
    action_id TEXT,
    group_id TEXT,
    package_id TEXT,
    responder_id TEXT,
    responder_phone TEXT,
    responder_name TEXT,
    is_anonymous INTEGER,
    is_completed INTEGER,
    is_update INTEGER NOT NULL,
    responded_at BIGINT NOT NULL,
    version_at BIGINT,
    first_seen_at BIGINT NOT NULL,
    updated_at BIGINT,
    fingerprint TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX responses_action ON responses (action_id, responded_at);

CREATE TABLE answers (
    response_id TEXT NOT NULL,
    question_index INTEGER NOT NULL,
    action_id TEXT,
    title TEXT,
    question_type TEXT,
    is_invisible INTEGER NOT NULL,
    text_value TEXT,
    number_value DOUBLE PRECISION,
    json_value TEXT,
    PRIMARY KEY (response_id, question_index)
);
CREATE INDEX answers_action_question ON answers (action_id, question_index);

CREATE TABLE reactions (
    reference_id TEXT PRIMARY KEY,
    group_id TEXT,
    source_group_id TEXT,
    likes BIGINT NOT NULL,
    comments BIGINT NOT NULL,
    counts TEXT,
    synced_at BIGINT NOT NULL
);

CREATE TABLE sync_state (
    sync_key TEXT PRIMARY KEY,
    cursor_ms BIGINT,
    updated_at BIGINT NOT NULL
);

-- Responses per action per UTC day.
CREATE VIEW responses_per_day AS
SELECT
    action_id,
    strftime('%Y-%m-%d', responded_at / 1000, 'unixepoch') AS day,
    (responded_at / 86400000) * 86400000 AS day_start,
    COUNT(*) AS responses
FROM responses
GROUP BY action_id, day, day_start;

-- How often each option was chosen, per option question (current answers).
CREATE VIEW answer_distribution AS
SELECT
    a.action_id AS action_id,
    a.question_index AS question_index,
    a.title AS question_title,
    o.value AS option,
    COUNT(*) AS count
FROM answers AS a, json_each(a.json_value) AS o
WHERE a.question_type IN ('SingleOption', 'MultiOption')
  AND a.json_value IS NOT NULL
GROUP BY a.action_id, a.question_index, a.title, o.value;

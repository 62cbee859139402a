-- kaizala-sink 0.2: the logs are the truth, every typed table a projection
-- (docs/schema.md, docs/architecture.md). Keep in step with
-- ../postgres/0002_event_log.sql.
--
-- - `events` keeps its head columns and the body; its events are numbered by
--   arrival into `position`, shared with the new `pull_log`; the handler state
--   moves to `handler_queue`.
-- - The typed tables are left as they are: the projector sees that they
--   were not built from the logs and rebuilds them beside, then swaps.
-- - A database that was synced keeps what the pulls brought: its typed rows
--   go into the pull log as `legacyRow` documents, before every event, so
--   a rebuild keeps them.

DROP INDEX events_due;
DROP INDEX events_dead;
DROP INDEX events_type_received;
DROP INDEX events_received;

ALTER TABLE events RENAME COLUMN id TO position;
-- 0.1 numbered each batch's events in `eventId` order but applied them in arrival
-- order: number them by arrival (the time read, then the old id), the order the
-- projector replays them in. Through negative numbers, so that no two rows ever
-- share a key on the way.
CREATE TEMP TABLE renumbered AS
SELECT position AS old, ROW_NUMBER() OVER (ORDER BY received_at, position) AS new FROM events;
CREATE UNIQUE INDEX temp.renumbered_old ON renumbered (old);
UPDATE events SET position = -(SELECT new FROM renumbered WHERE old = events.position);
UPDATE events SET position = -position;
DROP TABLE renumbered;

CREATE TABLE handler_queue (
    event_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at BIGINT,
    dead_at BIGINT,
    last_error TEXT,
    CONSTRAINT handler_queue_pkey PRIMARY KEY (event_id)
);
CREATE INDEX handler_queue_due ON handler_queue (due_at, position) WHERE dead_at IS NULL;
CREATE INDEX handler_queue_dead ON handler_queue (dead_at, position) WHERE dead_at IS NOT NULL;
INSERT INTO handler_queue (event_id, position, attempts, due_at, dead_at, last_error)
SELECT event_id, position, attempts, due_at, dead_at, last_error FROM events WHERE handled_at IS NULL;

ALTER TABLE events DROP COLUMN object_id;
ALTER TABLE events DROP COLUMN object_type;
ALTER TABLE events DROP COLUMN group_id;
ALTER TABLE events DROP COLUMN from_user_id;
ALTER TABLE events DROP COLUMN attempts;
ALTER TABLE events DROP COLUMN due_at;
ALTER TABLE events DROP COLUMN handled_at;
ALTER TABLE events DROP COLUMN dead_at;
ALTER TABLE events DROP COLUMN last_error;

CREATE TABLE pull_log (
    position INTEGER NOT NULL,
    fetched_at BIGINT NOT NULL,
    operation TEXT NOT NULL,
    group_id TEXT,
    request TEXT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT pull_log_pkey PRIMARY KEY (position)
);

CREATE TABLE sink_state (
    name TEXT NOT NULL,
    value BIGINT,
    detail TEXT,
    updated_at BIGINT,
    CONSTRAINT sink_state_pkey PRIMARY KEY (name)
);

CREATE TABLE projection_tables (
    table_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    built_at BIGINT NOT NULL,
    built_to BIGINT NOT NULL,
    CONSTRAINT projection_tables_pkey PRIMARY KEY (table_name)
);

-- 0.1 declared the key without NOT NULL, which SQLite then allows to be NULL.
CREATE TABLE sync_state_keyed (
    sync_key TEXT NOT NULL,
    cursor_ms BIGINT,
    updated_at BIGINT NOT NULL,
    CONSTRAINT sync_state_pkey PRIMARY KEY (sync_key)
);
INSERT INTO sync_state_keyed (sync_key, cursor_ms, updated_at)
SELECT sync_key, cursor_ms, updated_at FROM sync_state WHERE sync_key IS NOT NULL;
DROP TABLE sync_state;
ALTER TABLE sync_state_keyed RENAME TO sync_state;

INSERT INTO pull_log (position, fetched_at, operation, group_id, request, body)
SELECT rn - total - 1, at, 'legacyRow', group_id, request, body FROM (
    SELECT ROW_NUMBER() OVER (ORDER BY ord, k) AS rn, COUNT(*) OVER () AS total,
           at, group_id, request, body
    FROM (
        SELECT 1 AS ord, group_id AS k, updated_at AS at, group_id,
               '{"table":"groups"}' AS request,
               json_object('group_id', group_id, 'group_name', group_name,
                   'group_type', group_type, 'image_url', image_url,
                   'parent_group_id', parent_group_id, 'welcome_message', welcome_message,
                   'member_count', member_count, 'user_count', user_count,
                   'removed_at', removed_at, 'first_seen_at', first_seen_at,
                   'updated_at', updated_at) AS body
        FROM groups
        UNION ALL
        SELECT 2, group_id || '/' || member_id, updated_at, group_id, '{"table":"members"}',
               json_object('group_id', group_id, 'member_id', member_id, 'phone', phone,
                   'name', name, 'role', role, 'is_provisioned', is_provisioned,
                   'profile_pic', profile_pic, 'joined_at', joined_at,
                   'updated_at', updated_at)
        FROM members
        UNION ALL
        SELECT 3, action_id, updated_at, group_id, '{"table":"actions"}',
               json_object('action_id', action_id, 'group_id', group_id,
                   'action_type', action_type, 'package_id', package_id,
                   'reference_id', reference_id, 'title', title, 'text', text,
                   'creator_id', creator_id, 'creator_phone', creator_phone,
                   'creator_name', creator_name, 'created_at', created_at,
                   'expires_at', expires_at, 'is_anonymous', is_anonymous,
                   'response_count', response_count, 'questions', questions, 'body', body,
                   'first_seen_at', first_seen_at, 'updated_at', updated_at)
        FROM actions
        UNION ALL
        SELECT 4, r.response_id, COALESCE(r.updated_at, r.first_seen_at), r.group_id,
               '{"table":"responses"}',
               json_object('response_id', r.response_id, 'action_id', r.action_id,
                   'group_id', r.group_id, 'package_id', r.package_id,
                   'responder_id', r.responder_id, 'responder_phone', r.responder_phone,
                   'responder_name', r.responder_name, 'is_anonymous', r.is_anonymous,
                   'is_completed', r.is_completed, 'is_update', r.is_update,
                   'responded_at', r.responded_at, 'version_at', r.version_at,
                   'first_seen_at', r.first_seen_at, 'updated_at', r.updated_at,
                   'fingerprint', r.fingerprint, 'details', r.details,
                   'answers', json((SELECT json_group_array(json(a)) FROM (
                       SELECT json_object('question_index', question_index,
                           'title', title, 'question_type', question_type,
                           'is_invisible', is_invisible, 'text_value', text_value,
                           'number_value', number_value, 'json_value', json_value) AS a
                       FROM answers WHERE answers.response_id = r.response_id
                       ORDER BY question_index))))
        FROM responses AS r
        UNION ALL
        SELECT 5, reference_id, synced_at, group_id, '{"table":"reactions"}',
               json_object('reference_id', reference_id, 'group_id', group_id,
                   'source_group_id', source_group_id, 'likes', likes,
                   'comments', comments, 'counts', counts, 'synced_at', synced_at)
        FROM reactions
    ) AS rows
    WHERE EXISTS (SELECT 1 FROM sync_state)
) AS numbered;

INSERT INTO sink_state (name, value, detail, updated_at) VALUES
    ('log_head', (SELECT COALESCE(MAX(position), 0) FROM events), NULL, NULL),
    ('watermark', (SELECT COALESCE(MIN(position), 1) - 1 FROM pull_log), NULL, NULL),
    ('generation', 0, NULL, NULL),
    ('handler_watermark', (SELECT COALESCE(MAX(position), 0) FROM events), NULL, NULL);

-- kaizala-sink 0.2: the logs are the truth, every typed table a projection
-- (docs/schema.md, docs/architecture.md). Keep in step with
-- ../sqlite/0002_event_log.sql.
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
ALTER TABLE events ALTER COLUMN position DROP IDENTITY;

-- 0.1 numbered each batch's events in `eventId` order but applied them in arrival
-- order: number them by arrival (the time read, then the old id), the order the
-- projector replays them in. Through negative numbers, so that no two rows ever
-- share a key on the way.
UPDATE events AS e SET position = -r.new
FROM (SELECT position AS old, ROW_NUMBER() OVER (ORDER BY received_at, position) AS new
      FROM events) AS r
WHERE e.position = r.old;
UPDATE events SET position = -position;

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

ALTER TABLE events
    DROP COLUMN object_id,
    DROP COLUMN object_type,
    DROP COLUMN group_id,
    DROP COLUMN from_user_id,
    DROP COLUMN attempts,
    DROP COLUMN due_at,
    DROP COLUMN handled_at,
    DROP COLUMN dead_at,
    DROP COLUMN last_error;

CREATE TABLE pull_log (
    position BIGINT NOT NULL,
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

INSERT INTO pull_log (position, fetched_at, operation, group_id, request, body)
SELECT rn - total - 1, at, 'legacyRow', group_id, request, body FROM (
    SELECT ROW_NUMBER() OVER (ORDER BY ord, k) AS rn, COUNT(*) OVER () AS total,
           at, group_id, request, body
    FROM (
        SELECT 1 AS ord, g.group_id AS k, g.updated_at AS at, g.group_id,
               '{"table":"groups"}' AS request, row_to_json(g)::text AS body
        FROM groups AS g
        UNION ALL
        SELECT 2, m.group_id || '/' || m.member_id, m.updated_at, m.group_id,
               '{"table":"members"}', row_to_json(m)::text
        FROM members AS m
        UNION ALL
        SELECT 3, a.action_id, a.updated_at, a.group_id, '{"table":"actions"}',
               row_to_json(a)::text
        FROM actions AS a
        UNION ALL
        SELECT 4, r.response_id, COALESCE(r.updated_at, r.first_seen_at), r.group_id,
               '{"table":"responses"}',
               (to_jsonb(r) || jsonb_build_object('answers', (
                   SELECT COALESCE(jsonb_agg(to_jsonb(a) - 'response_id' - 'action_id'
                                             ORDER BY a.question_index), '[]'::jsonb)
                   FROM answers AS a WHERE a.response_id = r.response_id)))::text
        FROM responses AS r
        UNION ALL
        SELECT 5, x.reference_id, x.synced_at, x.group_id, '{"table":"reactions"}',
               row_to_json(x)::text
        FROM reactions AS x
    ) AS legacy
    WHERE EXISTS (SELECT 1 FROM sync_state)
) AS numbered;

INSERT INTO sink_state (name, value, detail, updated_at) VALUES
    ('log_head', (SELECT COALESCE(MAX(position), 0) FROM events), NULL, NULL),
    ('watermark', (SELECT COALESCE(MIN(position), 1) - 1 FROM pull_log), NULL, NULL),
    ('generation', 0, NULL, NULL),
    ('handler_watermark', (SELECT COALESCE(MAX(position), 0) FROM events), NULL, NULL);

-- kaizala-sink 0.2: the logs' position counter moves from `sink_state` to a
-- table of the logs' own, `log_state`, so that appending touches only the
-- logs' tables. On an SQLite file those then move to a file of their own,
-- `<file>-log` (src/log_file.rs), and an acknowledgement never waits for
-- the projector's write lock. Keep in step with ../postgres/0004_log_state.sql.
CREATE TABLE log_state (
    name TEXT NOT NULL,
    value BIGINT NOT NULL,
    CONSTRAINT log_state_pkey PRIMARY KEY (name)
);
INSERT INTO log_state (name, value)
SELECT 'head', COALESCE(MAX(value), 0) FROM sink_state WHERE name = 'log_head';
DELETE FROM sink_state WHERE name = 'log_head';

-- kaizala-sink 0.2: the time zone the daily views bucket by and `--excel`
-- shows times in (`kaizala sql set-timezone`), as UTC offsets from the
-- instant each starts; empty is UTC. Keep in step with the other dialect's
-- 0003_time_zone.sql.
CREATE TABLE time_zone_offsets (
    starts_at BIGINT NOT NULL,
    offset_ms BIGINT NOT NULL,
    CONSTRAINT time_zone_offsets_pkey PRIMARY KEY (starts_at)
);

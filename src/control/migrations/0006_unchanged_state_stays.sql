-- A scan writes only the indexes whose state changed since the scan before: an idle
-- fleet's scan writes nothing but one row per database.
--
-- state_digest: a hash of what the scan recorded (names, access method, size, tuples,
-- baseline), made by index-pilot; NULL where something else wrote the row (a
-- completed rebuild), so that the next scan writes it again.
ALTER TABLE index_pilot.index_state ADD COLUMN state_digest int8;

-- When each database was last scanned. Every index_state row of a database was seen
-- by its latest scan (the scan forgets the ones it does not see), so last_seen_at of
-- the view below is that scan's time.
CREATE TABLE index_pilot.database_scans (
    target        text        NOT NULL,
    database_oid  oid         NOT NULL,
    database_name text        NOT NULL,
    scanned_at    timestamptz NOT NULL,
    PRIMARY KEY (target, database_oid)
);

CREATE OR REPLACE VIEW index_pilot.current_bloat AS
SELECT s.target,
       s.database_name,
       format('%I.%I', s.schema_name, s.index_name)    AS index,
       s.table_name,
       s.access_method,
       pg_size_pretty(s.size_bytes)                    AS size,
       s.size_bytes,
       round((s.ratio / s.best_ratio)::numeric, 2)     AS estimated_bloat,
       round(s.ratio::numeric, 1)                      AS bytes_per_tuple,
       round(s.best_ratio::numeric, 1)                 AS baseline_bytes_per_tuple,
       s.baseline_set_at,
       greatest(s.last_seen_at, d.scanned_at)          AS last_seen_at
FROM index_pilot.index_state s
LEFT JOIN index_pilot.database_scans d
       ON d.target = s.target AND d.database_oid = s.database_oid
ORDER BY s.ratio / s.best_ratio DESC NULLS FIRST, s.size_bytes DESC;

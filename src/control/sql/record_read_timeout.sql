-- A read that hit max_inspect_time on an index: the latest per index and kind of
-- read is kept. The database's records older than $10 seconds hold nothing back any
-- more and go (never the row written here: one statement may not touch it twice).
WITH expired AS (
    DELETE FROM index_pilot.read_timeouts
    WHERE target = $1
      AND database_oid = $3
      AND timed_out_at < now() - $10::float8 * interval '1 second'
      AND NOT (index_oid = $4 AND read_kind = $5)
)
INSERT INTO index_pilot.read_timeouts
       (target, database_name, database_oid, index_oid, read_kind, schema_name, index_name,
        size_bytes, timeout_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (target, database_oid, index_oid, read_kind) DO UPDATE
SET database_name = excluded.database_name,
    schema_name   = excluded.schema_name,
    index_name    = excluded.index_name,
    size_bytes    = excluded.size_bytes,
    timeout_ms    = excluded.timeout_ms,
    timed_out_at  = now();

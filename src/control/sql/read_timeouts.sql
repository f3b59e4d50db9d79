-- The reads that timed out on this database's indexes: how long ago by this
-- database's clock (the one that recorded them), when, and the timeout they hit.
SELECT index_oid,
       read_kind,
       extract(epoch FROM now() - timed_out_at)::float8 AS age_s,
       to_char(timed_out_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') AS at,
       timeout_ms
FROM index_pilot.read_timeouts
WHERE target = $1
  AND database_oid = $2;

-- Rebuilds of this database that an earlier invocation started and did not see end.
SELECT id, schema_name, table_name, index_name, access_method, index_oid_before,
       size_before, reltuples_before, backend_pid, started_at,
       (extract(epoch FROM now() - started_at) * 1000)::int8 AS running_ms
FROM index_pilot.reindex_history
WHERE target = $1
  AND database_oid = $2
  AND status = 'in_progress'
ORDER BY id;

-- Rebuilds of this database that an earlier invocation started and did not see end.
-- running_ms: on the control database's clock only (started_at and now()).
SELECT id, schema_name, table_name, index_name, access_method, index_oid_before,
       size_before, estimated_bloat, backend_pid, backend_start, table_oid,
       owner_schema, owner_table, invalid_before, copy_oid,
       (extract(epoch FROM now() - started_at) * 1000)::int8 AS running_ms
FROM index_pilot.reindex_history
WHERE target = $1
  AND database_oid = $2
  AND status = 'in_progress'
ORDER BY id;

-- The rebuilds holding one server's slots, oldest first, and what identifies their
-- server process (to see whether it is still there).
SELECT id, target, database_name, database_oid, backend_pid, backend_start,
       format('%I.%I', schema_name, index_name) AS index,
       (extract(epoch FROM now() - started_at) * 1000)::int8 AS running_ms
FROM index_pilot.reindex_history
WHERE server = $1 AND status = 'in_progress' AND backend_gone_at IS NULL
ORDER BY started_at;

-- The rebuilds running on one server, oldest first: who holds its slots.
SELECT target, database_name, format('%I.%I', schema_name, index_name) AS index,
       (extract(epoch FROM now() - started_at) * 1000)::int8 AS running_ms
FROM index_pilot.reindex_history
WHERE server = $1 AND status = 'in_progress'
ORDER BY started_at;

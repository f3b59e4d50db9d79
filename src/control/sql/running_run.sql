-- The run in progress, and how long since one of its invocations last claimed a hop.
SELECT run_id, hop, (extract(epoch FROM now() - updated_at) * 1000)::int8 AS idle_ms
FROM index_pilot.runs
WHERE status = 'running';

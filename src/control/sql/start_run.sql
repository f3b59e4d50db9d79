-- A run: what one schedule started, over this many targets in this many shards.
INSERT INTO index_pilot.runs (run_id, targets, shards)
VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO NOTHING;

-- Claims hop $3 of the chain ($1 run, $2 shard). Hop 0 creates the chain; a later
-- hop must be newer than the chain's last. A duplicate delivery of the same or an
-- older hop claims nothing.
INSERT INTO index_pilot.run_chains AS c (run_id, shard, hop)
SELECT $1, $2, $3
WHERE EXISTS (SELECT FROM index_pilot.runs r WHERE r.run_id = $1)
ON CONFLICT (run_id, shard) DO UPDATE
SET hop = excluded.hop, updated_at = now()
WHERE c.hop < excluded.hop
RETURNING hop;

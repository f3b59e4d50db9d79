-- Where a target stands after this invocation.
INSERT INTO index_pilot.target_progress AS p (target, run_id, hop, state, reason, served_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (target) DO UPDATE
SET run_id = excluded.run_id, hop = excluded.hop, state = excluded.state,
    reason = excluded.reason, served_at = excluded.served_at;

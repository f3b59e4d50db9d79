-- Where a target stands after this invocation; when it was last served without error.
INSERT INTO index_pilot.target_progress AS p
       (target, run_id, hop, state, reason, error_class, served_at, succeeded_at)
VALUES ($1, $2, $3, $4, $5, $6, now(), CASE WHEN $4 <> 'error' THEN now() END)
ON CONFLICT (target) DO UPDATE
SET run_id = excluded.run_id, hop = excluded.hop, state = excluded.state,
    reason = excluded.reason, error_class = excluded.error_class,
    served_at = excluded.served_at,
    succeeded_at = coalesce(excluded.succeeded_at, p.succeeded_at);

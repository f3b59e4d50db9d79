UPDATE index_pilot.reindex_history
SET status        = 'failed',
    error         = $2,
    sqlstate      = $3,
    failure_class = $4,
    duration_ms   = $5,
    blocked_by    = $6,
    finished_at   = now()
WHERE id = $1;

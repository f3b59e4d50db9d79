UPDATE index_pilot.reindex_history
SET status           = 'failed',
    error            = $2,
    duration_ms      = $3,
    leftover_indexes = $4,
    finished_at      = now()
WHERE id = $1;

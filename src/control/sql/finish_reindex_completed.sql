-- $6: what failed after the swap, if anything (the rebuild itself did its work).
UPDATE index_pilot.reindex_history
SET status          = 'completed',
    index_oid_after = $2,
    size_after      = $3,
    reltuples_after = $4,
    duration_ms     = $5,
    error           = $6,
    finished_at     = now()
WHERE id = $1;

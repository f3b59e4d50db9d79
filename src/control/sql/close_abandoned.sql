-- A rebuild whose server process has ended and that nobody will settle ($2: why).
UPDATE index_pilot.reindex_history
SET status          = 'failed',
    error           = $2,
    failure_class   = 'gone',
    backend_gone_at = coalesce(backend_gone_at, now()),
    finished_at     = now()
WHERE id = $1 AND status = 'in_progress';

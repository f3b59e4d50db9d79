-- Rebuilds and quarantine of a database of this target that was dropped and created
-- again under the same name ($2; its oid now: $3): nobody settles or releases them,
-- and the indexes they name are gone with it.
WITH closed AS (
    UPDATE index_pilot.reindex_history
    SET status          = 'failed',
        error           = 'abandoned: its database was dropped or recreated',
        failure_class   = 'gone',
        backend_gone_at = coalesce(backend_gone_at, now()),
        finished_at     = now()
    WHERE target = $1 AND database_name = $2 AND database_oid <> $3
      AND status = 'in_progress'
    RETURNING id
), released AS (
    UPDATE index_pilot.quarantine
    SET released_at = now(),
        released_by = 'index-pilot: its database was dropped or recreated'
    WHERE target = $1 AND database_name = $2 AND database_oid <> $3
      AND released_at IS NULL
    RETURNING id
)
SELECT (SELECT count(*) FROM closed) AS rebuilds, (SELECT count(*) FROM released) AS quarantined;

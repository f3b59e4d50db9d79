-- A rebuild of ours completed: its history row is closed and the index's state moves
-- to its new oid with a fresh baseline, in one statement (nothing half done if the
-- invocation dies). The new oid may already have a row (a scan that ran after the
-- swap, while the rebuild finished): it is replaced. The old oid's row goes.
-- $6: what failed after the swap, if anything (the rebuild itself did its work).
-- The baseline is the rebuilt index's own size per tuple; its growth is measured anew.
-- Where it stands is the next scan's to say (current_bloat shows it rebuilt until then).
WITH history AS (
    UPDATE index_pilot.reindex_history
    SET status          = 'completed',
        index_oid_after = $2,
        size_after      = $3,
        reltuples_after = $4,
        duration_ms     = $5,
        error           = $6,
        finished_at     = now()
    WHERE id = $1
    RETURNING target, database_name, database_oid, index_oid_before, schema_name,
              table_name, index_name, access_method
), old_state AS (
    DELETE FROM index_pilot.index_state s
    USING history h
    WHERE s.target = h.target
      AND s.database_oid = h.database_oid
      AND s.index_oid = h.index_oid_before
      AND s.index_oid <> $2
)
INSERT INTO index_pilot.index_state AS s
       (target, database_name, database_oid, index_oid, schema_name, table_name,
        index_name, access_method, size_bytes, reltuples, ratio, best_ratio,
        baseline_set_at, last_seen_at, baseline_source, trend_since, trend_ratio,
        verdict, why, judged_at)
SELECT h.target, h.database_name, h.database_oid, $2, h.schema_name, h.table_name,
       h.index_name, h.access_method, $3, $4, $7, $8, now(), now(),
       CASE WHEN $8::float8 IS NOT NULL THEN 'rebuild' END, now(), $7,
       'rebuilt', 'rebuilt by index-pilot; the next scan judges it', now()
FROM history h
ON CONFLICT (target, database_oid, index_oid) DO UPDATE
SET size_bytes      = excluded.size_bytes,
    reltuples       = excluded.reltuples,
    ratio           = excluded.ratio,
    best_ratio      = excluded.best_ratio,
    baseline_set_at = excluded.baseline_set_at,
    last_seen_at    = excluded.last_seen_at,
    baseline_source = excluded.baseline_source,
    trend_since     = excluded.trend_since,
    trend_ratio     = excluded.trend_ratio,
    verdict         = excluded.verdict,
    why             = excluded.why,
    judged_at       = excluded.judged_at,
    state_digest    = NULL;

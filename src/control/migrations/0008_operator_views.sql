-- index-pilot control schema, version 8: where each index stands and why, with the
-- settings in force that decided it (current_bloat), and what index-pilot did per
-- target and day (target_totals).

-- Settings resolve in index-pilot (wildcards, most specific first): the scan that
-- judges an index records what was in force and its verdict, with the rest of its
-- state (only when something changed, like the rest). NULL in rows written before
-- version 8: every row is written again by its database's next scan.
ALTER TABLE index_pilot.index_state
    -- index_size_threshold and minimum_reliable_index_size in force, in bytes
    -- (index_rebuild_scale_factor is scale_factor, since version 7).
    ADD COLUMN size_threshold int8,
    ADD COLUMN reliable_size  int8,
    -- What skips it: 'setting #<id>' (skip_setting is that id) or a built-in rule.
    ADD COLUMN skipped_by     text,
    ADD COLUMN skip_setting   int8,
    -- Where it stands for a plain run (src/domain/standing.rs), and in words.
    ADD COLUMN verdict        text CHECK (verdict IN (
        'candidate', 'healthy', 'below_threshold', 'skipped', 'quarantined',
        'awaiting_estimate', 'no_statistics', 'ineligible', 'locked', 'not_selected',
        'rebuilt')),
    ADD COLUMN why            text,
    -- Since when it stands there.
    ADD COLUMN judged_at      timestamptz;

-- The columns of version 7 first, in their order; then the settings in force and the
-- standing. A quarantine, or its release, shows at once, before the next scan.
CREATE OR REPLACE VIEW index_pilot.current_bloat AS
SELECT s.target,
       s.database_name,
       format('%I.%I', s.schema_name, s.index_name)    AS index,
       s.table_name,
       s.access_method,
       pg_size_pretty(s.size_bytes)                    AS size,
       s.size_bytes,
       round((s.ratio / s.best_ratio)::numeric, 2)     AS estimated_bloat,
       round(s.ratio::numeric, 1)                      AS bytes_per_tuple,
       round(s.best_ratio::numeric, 1)                 AS baseline_bytes_per_tuple,
       s.baseline_set_at,
       greatest(s.last_seen_at, d.scanned_at)          AS last_seen_at,
       s.baseline_source,
       pg_size_pretty(s.size_threshold)                AS index_size_threshold,
       s.scale_factor                                  AS index_rebuild_scale_factor,
       pg_size_pretty(s.reliable_size)                 AS minimum_reliable_index_size,
       CASE WHEN s.verdict IS NOT NULL THEN s.skipped_by IS NOT NULL END AS skip,
       CASE WHEN s.skip_setting IS NULL THEN s.skipped_by
            ELSE s.skipped_by || ' (' || coalesce(k.scope, 'since deleted') || ')'
       END                                             AS skipped_by,
       CASE WHEN q.id IS NOT NULL THEN false
            WHEN s.verdict = 'quarantined' THEN false
            ELSE s.verdict = 'candidate'
       END                                             AS candidate,
       CASE WHEN q.id IS NOT NULL
                THEN format('quarantined since %s after %s failed rebuild(s)%s',
                            to_char(q.quarantined_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD HH24:MI "UTC"'),
                            q.failures,
                            coalesce(' (SQLSTATE ' || q.sqlstate || ')', ''))
            WHEN s.verdict = 'quarantined'
                THEN 'released from quarantine; the next scan judges it'
            WHEN s.skip_setting IS NOT NULL
                THEN s.why || ' (' || coalesce(k.scope,
                     'that setting is gone; the next scan judges it again') || ')'
            WHEN s.verdict IS NULL THEN 'not judged yet: the next scan says'
            ELSE s.why
       END                                             AS why,
       CASE WHEN q.id IS NOT NULL THEN 'quarantined' ELSE s.verdict END AS verdict,
       CASE WHEN q.id IS NOT NULL THEN q.quarantined_at ELSE s.judged_at END AS judged_at
FROM index_pilot.index_state s
LEFT JOIN index_pilot.database_scans d
       ON d.target = s.target AND d.database_oid = s.database_oid
LEFT JOIN index_pilot.quarantine q
       ON q.target = s.target AND q.database_oid = s.database_oid
      AND q.index_oid = s.index_oid AND q.released_at IS NULL
LEFT JOIN LATERAL (
    SELECT coalesce(nullif(concat_ws(', ',
               'target ' || st.target,
               'database ' || st.database_name,
               CASE WHEN st.table_name IS NULL AND st.index_name IS NULL
                    THEN 'schema ' || st.schema_name END,
               CASE WHEN st.table_name IS NOT NULL
                    THEN 'table ' || concat_ws('.', st.schema_name, st.table_name) END,
               CASE WHEN st.index_name IS NOT NULL
                    THEN 'index ' || concat_ws('.', st.schema_name, st.index_name) END),
               ''), 'everywhere') AS scope
    FROM index_pilot.settings st
    WHERE st.id = s.skip_setting
) k ON true
ORDER BY s.ratio / s.best_ratio DESC NULLS FIRST, s.size_bytes DESC;

-- For people: what index-pilot did per target, database and day (UTC), newest first:
-- the rebuilds that ended that day and the bytes they gave back, the failures, and
-- the indexes put in quarantine that day (and how many of them are still there).
CREATE VIEW index_pilot.target_totals AS
WITH rebuilds AS (
    SELECT h.target,
           h.database_name,
           (h.finished_at AT TIME ZONE 'UTC')::date                         AS day,
           count(*) FILTER (WHERE h.status = 'completed')                   AS rebuilds_completed,
           count(*) FILTER (WHERE h.status = 'failed')                      AS rebuilds_failed,
           coalesce(sum(h.size_before - h.size_after)
                    FILTER (WHERE h.status = 'completed'), 0)::int8         AS bytes_reclaimed,
           coalesce(sum(h.duration_ms)
                    FILTER (WHERE h.status = 'completed'), 0)::int8         AS rebuild_ms
    FROM index_pilot.reindex_history h
    WHERE h.status <> 'in_progress'
      AND h.finished_at IS NOT NULL
    GROUP BY 1, 2, 3
), quarantines AS (
    SELECT q.target,
           q.database_name,
           (q.quarantined_at AT TIME ZONE 'UTC')::date                      AS day,
           count(*)                                                         AS quarantined,
           count(*) FILTER (WHERE q.released_at IS NULL)                    AS still_quarantined
    FROM index_pilot.quarantine q
    GROUP BY 1, 2, 3
)
SELECT coalesce(r.target, q.target)                           AS target,
       coalesce(r.database_name, q.database_name)             AS database_name,
       coalesce(r.day, q.day)                                 AS day,
       coalesce(r.rebuilds_completed, 0)                      AS rebuilds_completed,
       coalesce(r.rebuilds_failed, 0)                         AS rebuilds_failed,
       coalesce(r.bytes_reclaimed, 0)                         AS bytes_reclaimed,
       pg_size_pretty(coalesce(r.bytes_reclaimed, 0))         AS reclaimed,
       make_interval(secs => coalesce(r.rebuild_ms, 0) / 1000.0) AS rebuild_time,
       coalesce(q.quarantined, 0)                             AS quarantined,
       coalesce(q.still_quarantined, 0)                       AS still_quarantined
FROM rebuilds r
FULL JOIN quarantines q
       ON q.target = r.target AND q.database_name = r.database_name AND q.day = r.day
ORDER BY 3 DESC, 1, 2;

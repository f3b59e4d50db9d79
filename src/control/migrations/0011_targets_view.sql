-- The targets view says whether each target is still configured, when it was last
-- served without error, and why it failed (a class and the error's own words).

-- The target names of the configuration, as the latest invocation that writes to
-- this database read them from INDEX_PILOT_TARGETS.
CREATE TABLE index_pilot.configuration (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    targets     text[]      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE index_pilot.target_progress
    ADD COLUMN error_class  text,
    ADD COLUMN succeeded_at timestamptz;
-- Earlier rows: served without error when their state says so.
UPDATE index_pilot.target_progress SET succeeded_at = served_at WHERE state <> 'error';

-- For people: every target, configured or once served, the longest without a
-- successful run first. `configured` is NULL until an invocation has recorded the
-- configuration.
DROP VIEW index_pilot.targets;
CREATE VIEW index_pilot.targets AS
WITH configured AS (
    SELECT unnest(c.targets) AS target FROM index_pilot.configuration c
)
SELECT coalesce(p.target, c.target)                          AS target,
       CASE WHEN EXISTS (SELECT 1 FROM index_pilot.configuration)
            THEN c.target IS NOT NULL END                    AS configured,
       coalesce(p.state, 'never served')                     AS state,
       p.error_class,
       p.reason,
       p.succeeded_at                                        AS last_success_at,
       now() - p.succeeded_at                                AS without_success_for,
       p.served_at,
       now() - p.served_at                                   AS since,
       p.run_id,
       p.hop
FROM index_pilot.target_progress p
FULL JOIN configured c ON c.target = p.target
ORDER BY p.succeeded_at NULLS FIRST, p.served_at NULLS FIRST, 1;

-- current_bloat as in version 8, its quarantine count in words that agree with it
-- ("after 1 failed rebuild", "after 3 failed rebuilds").
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
                THEN format('quarantined since %s after %s%s',
                            to_char(q.quarantined_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD HH24:MI "UTC"'),
                            CASE WHEN q.failures = 1 THEN '1 failed rebuild'
                                 ELSE q.failures || ' failed rebuilds' END,
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

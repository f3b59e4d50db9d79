-- index-pilot control schema, version 7: how each baseline was set, which indexes
-- their database's first scan found, each index's growth since its baseline was set,
-- and the forecast of the rebuilds to come.

ALTER TABLE index_pilot.settings DROP CONSTRAINT settings_key_check;
ALTER TABLE index_pilot.settings ADD CONSTRAINT settings_key_check CHECK (key IN (
    'index_size_threshold',
    'index_rebuild_scale_factor',
    'minimum_reliable_index_size',
    'reindex_history_retention_period',
    'skip',
    'lock_timeout',
    'max_blocker_age',
    'max_rebuild_wait',
    'quarantine_after',
    'maintenance_work_mem',
    'max_parallel_maintenance_workers',
    'max_rebuilds_per_server',
    'max_automatic_index_size',
    'initial_baseline',
    'confirm_size_threshold',
    'analyze_before_rebuild'));

ALTER TABLE index_pilot.index_state
    -- rebuild, estimate, pgstattuple, current, first_sight, accepted, pgstatindex
    -- (README: "The baseline"); NULL for a baseline set before version 7.
    ADD COLUMN baseline_source text CHECK (baseline_source IN (
        'rebuild', 'estimate', 'pgstattuple', 'current', 'first_sight', 'accepted',
        'pgstatindex')),
    -- Found by its database's first scan: initial_baseline decides its baseline.
    -- Rows from before version 7 without a baseline were candidates of unknown bloat:
    -- the policy decides for them too.
    ADD COLUMN from_first_scan boolean NOT NULL DEFAULT false,
    -- index_rebuild_scale_factor in force at the last scan that wrote the row.
    ADD COLUMN scale_factor double precision,
    -- The anchor of the trend: bytes per tuple when the baseline was last set, and when.
    ADD COLUMN trend_since timestamptz,
    ADD COLUMN trend_ratio double precision;

UPDATE index_pilot.index_state
SET from_first_scan = (best_ratio IS NULL),
    trend_since     = coalesce(baseline_set_at, last_seen_at),
    trend_ratio     = ratio;

ALTER TABLE index_pilot.index_state
    ALTER COLUMN trend_since SET DEFAULT now(),
    ALTER COLUMN trend_since SET NOT NULL,
    ALTER COLUMN trend_ratio SET NOT NULL;

-- A database whose indexes were recorded before database_scans existed was scanned.
INSERT INTO index_pilot.database_scans (target, database_oid, database_name, scanned_at)
SELECT s.target, s.database_oid, max(s.database_name), max(s.last_seen_at)
FROM index_pilot.index_state s
GROUP BY s.target, s.database_oid
ON CONFLICT (target, database_oid) DO NOTHING;

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
       s.baseline_source
FROM index_pilot.index_state s
LEFT JOIN index_pilot.database_scans d
       ON d.target = s.target AND d.database_oid = s.database_oid
ORDER BY s.ratio / s.best_ratio DESC NULLS FIRST, s.size_bytes DESC;

-- For people: when each growing index is expected to reach its rebuild threshold,
-- soonest first. The growth is the change of its bytes per tuple since its baseline
-- was set, per day, over at least a day (src/domain/forecast.rs makes the same
-- projection for dry runs); the size per tuple stored is the one its database's
-- latest scan saw.
CREATE VIEW index_pilot.forecast AS
WITH trend AS (
    SELECT s.*,
           d.scanned_at,
           extract(epoch FROM d.scanned_at - s.trend_since) / 86400 AS days,
           coalesce(s.scale_factor, 2) * s.best_ratio              AS threshold_ratio
    FROM index_pilot.index_state s
    JOIN index_pilot.database_scans d
      ON d.target = s.target AND d.database_oid = s.database_oid
    WHERE s.best_ratio > 0
), growth AS (
    SELECT t.*, (t.ratio - t.trend_ratio) / t.days AS ratio_per_day
    FROM trend t
    WHERE t.days >= 1
)
SELECT g.target,
       g.database_name,
       format('%I.%I', g.schema_name, g.index_name)                   AS index,
       g.table_name,
       pg_size_pretty(g.size_bytes)                                   AS size,
       round((g.ratio / g.best_ratio)::numeric, 2)                    AS estimated_bloat,
       coalesce(g.scale_factor, 2)                                    AS threshold,
       round((g.ratio_per_day / g.best_ratio)::numeric, 4)            AS bloat_per_day,
       g.scanned_at + make_interval(secs => (g.threshold_ratio - g.ratio)
                                            / g.ratio_per_day * 86400) AS expected_rebuild_at,
       g.trend_since                                                  AS growing_since
FROM growth g
WHERE g.ratio_per_day > 0
  AND g.ratio < g.threshold_ratio
ORDER BY expected_rebuild_at;

-- A baseline shown wrong before a rebuild (pgstatindex found the index not bloated):
-- the index's size per tuple over the bloat it really has. The next scan writes the
-- row again (no digest), and its growth is measured from now.
UPDATE index_pilot.index_state
SET best_ratio      = $4,
    baseline_source = 'pgstatindex',
    baseline_set_at = now(),
    trend_since     = now(),
    trend_ratio     = ratio,
    state_digest    = NULL
WHERE target = $1
  AND database_oid = $2
  AND index_oid = $3;

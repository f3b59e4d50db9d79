-- Where each index's growth is measured from: its bytes per tuple when its baseline
-- was last set, and when (seconds since the epoch).
SELECT index_oid,
       extract(epoch FROM trend_since)::float8 AS trend_since,
       trend_ratio
FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2;

-- Where these indexes' growth is measured from: their bytes per tuple when their
-- baseline was last set, and when (seconds since the epoch).
SELECT index_oid,
       extract(epoch FROM trend_since)::float8 AS trend_since,
       trend_ratio
FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2
  AND index_oid = ANY ($3);

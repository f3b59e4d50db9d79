-- Baselines of one database of one target: index oid → bytes per tuple.
SELECT index_oid, best_ratio
FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2
  AND best_ratio IS NOT NULL;

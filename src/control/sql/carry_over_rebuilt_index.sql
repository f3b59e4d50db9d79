-- After index-pilot's own rebuild: the index has a new oid and a fresh baseline.
UPDATE index_pilot.index_state
SET index_oid       = $4,
    size_bytes      = $5,
    reltuples       = $6,
    ratio           = $7,
    best_ratio      = $8,
    baseline_set_at = now(),
    last_seen_at    = now()
WHERE target = $1
  AND database_oid = $2
  AND index_oid = $3;

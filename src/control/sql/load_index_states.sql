-- What the control database holds of one database's indexes: the baseline (bytes per
-- tuple) and how it was set, the digest of the state last written by a scan, and
-- whether the database's first scan found the index.
SELECT index_oid, best_ratio, state_digest, from_first_scan, baseline_source
FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2;

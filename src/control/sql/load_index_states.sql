-- What the control database holds of one database's indexes: the baseline (bytes per
-- tuple) and the digest of the state last written by a scan.
SELECT index_oid, best_ratio, state_digest
FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2;

-- Quarantine rows of indexes of this database that no longer exist ($3: their oids):
-- nothing is left to release by hand.
UPDATE index_pilot.quarantine
SET released_at = now(),
    released_by = 'index-pilot: the index no longer exists'
WHERE target = $1 AND database_oid = $2 AND index_oid = ANY ($3::oid[])
  AND released_at IS NULL;

-- Indexes of this database that its latest scan no longer saw ($3: their oids,
-- the stored ones the scan did not find; usually none or a few).
DELETE FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2
  AND index_oid = ANY ($3::oid[]);

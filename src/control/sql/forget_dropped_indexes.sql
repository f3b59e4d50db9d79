-- Indexes of this database that the last scan no longer saw.
DELETE FROM index_pilot.index_state
WHERE target = $1
  AND database_oid = $2
  AND index_oid <> ALL ($3::oid[]);

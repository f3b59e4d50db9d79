DELETE FROM index_pilot.leftovers
WHERE target = $1
  AND database_oid = $2
  AND index_oid = $3;

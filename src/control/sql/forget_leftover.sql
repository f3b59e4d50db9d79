-- A leftover was dropped: no history row keeps asking for it.
UPDATE index_pilot.reindex_history
SET leftover_indexes = array_remove(leftover_indexes, $4)
WHERE target = $1
  AND database_oid = $2
  AND schema_name = $3
  AND $4 = ANY (leftover_indexes);

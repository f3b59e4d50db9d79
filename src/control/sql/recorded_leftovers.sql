-- Invalid indexes that index-pilot's own failed rebuilds left in this database.
SELECT DISTINCT h.schema_name, leftover
FROM index_pilot.reindex_history h,
     unnest(h.leftover_indexes) AS leftover
WHERE h.target = $1
  AND h.database_oid = $2;

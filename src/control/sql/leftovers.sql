-- Invalid indexes our own rebuilds left in this database, by oid.
SELECT index_oid, schema_name, index_name, table_oid, table_name
FROM index_pilot.leftovers
WHERE target = $1
  AND database_oid = $2
ORDER BY index_oid;

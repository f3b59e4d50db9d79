-- Indexes of this database in quarantine now.
SELECT index_oid, schema_name, index_name, table_name, sqlstate, error, failures,
       to_char(quarantined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
FROM index_pilot.quarantine
WHERE target = $1
  AND database_oid = $2
  AND released_at IS NULL
ORDER BY quarantined_at;

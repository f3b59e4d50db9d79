INSERT INTO index_pilot.quarantine
       (target, database_name, database_oid, index_oid, schema_name, index_name, table_name,
        sqlstate, error, failures, history_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (target, database_oid, index_oid) WHERE released_at IS NULL DO NOTHING
RETURNING to_char(quarantined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since;

INSERT INTO index_pilot.leftovers
       (target, database_oid, index_oid, schema_name, index_name, table_oid, table_name, history_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (target, database_oid, index_oid) DO NOTHING;

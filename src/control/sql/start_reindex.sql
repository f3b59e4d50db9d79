INSERT INTO index_pilot.reindex_history
       (run_id, target, database_name, database_oid, schema_name, table_name, index_name,
        access_method, index_oid_before, status, reason, estimated_bloat, size_before,
        reltuples_before, backend_pid, backend_start, table_oid, owner_schema, owner_table,
        invalid_before)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'in_progress', $10, $11, $12, $13, $14, $15,
        $16, $17, $18, $19)
RETURNING id;

-- The index that now carries this name: after REINDEX CONCURRENTLY it has a new oid.
-- reltuples as in scan_indexes.sql: the table's for GIN.
SELECT i.oid                                      AS index_oid,
       x.indisvalid                               AS is_valid,
       pg_relation_size(i.oid)                    AS size_bytes,
       CASE WHEN am.amname = 'gin' THEN t.reltuples
            ELSE i.reltuples END::float8          AS reltuples
FROM pg_class i
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_am am ON am.oid = i.relam
JOIN pg_index x ON x.indexrelid = i.oid
JOIN pg_class t ON t.oid = x.indrelid
WHERE n.nspname = $1
  AND i.relname = $2
  AND i.relkind = 'i';

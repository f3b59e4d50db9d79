-- Invalid indexes, on one table ($1) or (NULL) in the whole database: what failed or
-- interrupted builds leave, ours and everyone else's. "ready" ones are still
-- maintained by every write. Sizes as in scan_indexes.sql: never waiting for a lock.
WITH locked AS MATERIALIZED (
    SELECT DISTINCT l.relation
    FROM pg_locks l
    WHERE l.locktype = 'relation'
      AND l.mode = 'AccessExclusiveLock'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid IS DISTINCT FROM pg_backend_pid()
)
SELECT i.oid           AS index_oid,
       n.nspname::text AS schema_name,
       i.relname::text AS index_name,
       t.relname::text AS table_name,
       x.indrelid      AS table_oid,
       x.indisready    AS is_ready,
       CASE WHEN i.oid IN (SELECT relation FROM locked)
              OR x.indrelid IN (SELECT relation FROM locked) THEN NULL
            ELSE pg_relation_size(i.oid) END AS size_bytes
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE NOT x.indisvalid
  AND i.relkind = 'i'
  AND ($1::oid IS NULL OR x.indrelid = $1::oid)
ORDER BY 2, 3;

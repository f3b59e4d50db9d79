-- Every index of this database except the system catalogs' (and their TOAST tables':
-- everything initdb made has an oid below 16384, FirstNormalObjectId), with what
-- index-pilot needs to judge it. One statement per database.
--
-- It never waits for a lock: pg_relation_size takes a share lock on each index in
-- turn, which would queue behind anyone holding or awaiting an exclusive lock (a
-- plain REINDEX, VACUUM FULL, CLUSTER, DROP, ALTER). Such indexes, and every index of
-- such a table, are not measured: locked_by names the session (0: a prepared
-- transaction). An index dropped while this runs has a NULL size.
--
-- The rows are sorted by index oid before any size is read (pg_relation_size is
-- volatile: PostgreSQL evaluates it after the sort). Opening an index the first time
-- in a session reads its catalog rows; in oid order, which is roughly the order they
-- were written in, those reads stay on the same pages. In the order the hash joins
-- leave them, the same scan took a quarter longer at 117,000 indexes.
WITH locked AS MATERIALIZED (
    SELECT l.relation, min(coalesce(l.pid, 0)) AS pid
    FROM pg_locks l
    WHERE l.locktype = 'relation'
      AND l.mode = 'AccessExclusiveLock'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid IS DISTINCT FROM pg_backend_pid()
    GROUP BY l.relation
)
SELECT x.indexrelid                                        AS index_oid,
       x.indrelid                                          AS table_oid,
       n.nspname::text                                     AS schema_name,
       t.relname::text                                     AS table_name,
       i.relname::text                                     AS index_name,
       am.amname::text                                     AS access_method,
       coalesce(li.pid, lt.pid)                            AS locked_by,
       CASE WHEN t.relpersistence = 't' OR i.relkind = 'I' THEN 0
            WHEN li.pid IS NOT NULL OR lt.pid IS NOT NULL THEN 0
            ELSE pg_relation_size(i.oid) END               AS size_bytes,
       -- GIN counts entries, not rows, right after a build (VACUUM and ANALYZE then
       -- set rows): its table's count keeps the ratio comparable across both.
       CASE WHEN am.amname = 'gin' THEN t.reltuples
            ELSE i.reltuples END::float8                   AS reltuples,
       x.indisvalid                                        AS is_valid,
       x.indislive AND x.indisready                        AS is_live,
       t.relkind::text                                     AS table_kind,
       t.relpersistence = 't'                              AS is_temporary,
       i.relkind = 'I'                                     AS is_partitioned,
       ex.oid IS NOT NULL                                  AS backs_exclusion_constraint,
       -- A TOAST table's owner: its settings apply to the TOAST index.
       owner_ns.nspname::text                              AS owner_schema,
       owner.relname::text                                 AS owner_table
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_am am ON am.oid = i.relam
LEFT JOIN pg_constraint ex ON ex.conindid = x.indexrelid AND ex.contype = 'x'
LEFT JOIN pg_class owner ON t.relkind = 't' AND owner.reltoastrelid = t.oid
LEFT JOIN pg_namespace owner_ns ON owner_ns.oid = owner.relnamespace
LEFT JOIN locked li ON li.relation = x.indexrelid
LEFT JOIN locked lt ON lt.relation = x.indrelid
WHERE x.indexrelid >= 16384
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY x.indexrelid;

-- Every index of this database except the system catalogs' (and their TOAST tables':
-- everything initdb made has an oid below 16384, FirstNormalObjectId), with what
-- index-pilot needs to judge it. One statement per database; pg_relation_size takes and releases
-- a lock on each index in turn, never holding them all.
SELECT x.indexrelid                                        AS index_oid,
       x.indrelid                                          AS table_oid,
       n.nspname::text                                     AS schema_name,
       t.relname::text                                     AS table_name,
       i.relname::text                                     AS index_name,
       am.amname::text                                     AS access_method,
       CASE WHEN t.relpersistence = 't' OR i.relkind = 'I' THEN 0
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
       EXISTS (SELECT 1
               FROM pg_constraint c
               WHERE c.conindid = x.indexrelid
                 AND c.contype = 'x')                      AS backs_exclusion_constraint
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE x.indexrelid >= 16384
  AND n.nspname NOT IN ('pg_catalog', 'information_schema');

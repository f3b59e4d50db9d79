-- One index as it is now, by oid: to recheck a candidate right before its rebuild,
-- and a leftover right before it is dropped.
SELECT n.nspname::text AS schema_name,
       i.relname::text AS index_name,
       x.indisvalid    AS is_valid
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE x.indexrelid = $1;

-- Invalid indexes that look like what an interrupted REINDEX CONCURRENTLY leaves:
-- <index>_ccnew[N] (the new copy) or <index>_ccold[N] (the old one, after the swap).
-- $1: a table oid, or NULL for the whole database.
SELECT i.oid           AS index_oid,
       n.nspname::text AS schema_name,
       i.relname::text AS index_name,
       t.relname::text AS table_name,
       x.indrelid      AS table_oid
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE NOT x.indisvalid
  AND i.relname ~ '_cc(new|old)[0-9]*$'
  AND ($1::oid IS NULL OR x.indrelid = $1::oid)
ORDER BY 1, 2;

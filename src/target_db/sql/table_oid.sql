-- A table's oid by schema and name (NULL when it no longer exists).
SELECT c.oid AS table_oid
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1
  AND c.relname = $2;

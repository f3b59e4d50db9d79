-- A table's rows as ANALYZE last counted them, and what changed since.
SELECT c.reltuples::float8                           AS reltuples,
       coalesce(s.n_mod_since_analyze, 0)::float8    AS modified_since_analyze,
       coalesce(s.n_live_tup, 0)::float8             AS live_tuples,
       coalesce(s.n_dead_tup, 0)::float8             AS dead_tuples
FROM pg_class c
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.oid = $1;

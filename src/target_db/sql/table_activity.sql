-- A table's rows as ANALYZE last counted them, and what changed since. The counters
-- come from the statistics system: on PostgreSQL 14 and older they lag by up to
-- half a second, and a reset (or a crash) empties them.
SELECT c.reltuples::float8                           AS reltuples,
       coalesce(s.n_mod_since_analyze, 0)::float8    AS modified_since_analyze,
       coalesce(s.n_live_tup, 0)::float8             AS live_tuples,
       coalesce(s.n_dead_tup, 0)::float8             AS dead_tuples,
       s.last_vacuum IS NOT NULL OR s.last_autovacuum IS NOT NULL AS vacuumed
FROM pg_class c
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.oid = $1;

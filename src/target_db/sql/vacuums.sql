-- Vacuums processing table $1 right now, autovacuum's or anyone's. Without
-- pg_read_all_stats, another role's vacuum (autovacuum's among them) hides which
-- table it processes.
SELECT v.pid,
       v.phase,
       a.backend_type = 'autovacuum worker' AS autovacuum
FROM pg_stat_progress_vacuum v
LEFT JOIN pg_stat_activity a ON a.pid = v.pid
WHERE v.relid = $1;

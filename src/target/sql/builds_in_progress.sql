-- Index builds running on this table in this database, by anyone but us. A row whose
-- relid we may not see (no pg_read_all_stats) counts too: better wait than collide.
SELECT count(*) AS builds
FROM pg_stat_progress_create_index p
WHERE p.pid <> pg_backend_pid()
  AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (p.relid = $1 OR p.relid IS NULL);

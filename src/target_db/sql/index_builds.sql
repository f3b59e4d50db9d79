-- The tables of this database with an index build in progress, by anyone but this
-- connection. A NULL relid (no pg_read_all_stats to see it) stands for any table:
-- better wait than collide.
SELECT p.relid
FROM pg_stat_progress_create_index p
WHERE p.pid <> pg_backend_pid()
  AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database());

-- How many standbys have not yet replayed the WAL up to $1 (the position when a
-- rebuild ended); those this role may not see count as behind.
SELECT count(*)::int8 AS behind
FROM pg_stat_replication r
WHERE r.state IS DISTINCT FROM 'backup'
  AND NOT EXISTS (SELECT 1
                  FROM pg_replication_slots s
                  WHERE s.active_pid = r.pid
                    AND s.slot_type = 'logical')
  AND (r.replay_lsn IS NULL OR r.replay_lsn < $1::text::pg_lsn);

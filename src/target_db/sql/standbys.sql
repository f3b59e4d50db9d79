-- The standbys streaming from this primary, and how far behind each replays: in time
-- (replay_lag, NULL once it has caught up and nothing new came) and in bytes of WAL.
-- Logical subscribers are judged by their slots (slots.sql); base backups are not
-- standbys. Without pg_read_all_stats only the pid of another role's sender shows:
-- state is NULL then.
SELECT r.application_name,
       host(r.client_addr)                                          AS client_addr,
       r.state,
       r.sync_state,
       extract(epoch FROM r.replay_lag)::float8                     AS replay_lag_s,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8  AS replay_lag_bytes
FROM pg_stat_replication r
WHERE r.state IS DISTINCT FROM 'backup'
  AND NOT EXISTS (SELECT 1
                  FROM pg_replication_slots s
                  WHERE s.active_pid = r.pid
                    AND s.slot_type = 'logical');

-- Our rebuild, known by what the target reported when its connection opened: the
-- process id ($1) and that process's start ($2; NULL for rebuilds recorded before it
-- was kept). Its phase and progress, whether it waits for a lock, and for whom
-- (never the query text of anyone), and who is ourselves: the rebuild and this
-- connection, which looks at it. pg_blocking_pids() takes the lock manager's locks:
-- it is called only while the rebuild waits on a lock.
-- No row: that process is gone or runs something else.
SELECT p.phase,
       p.index_relid,
       p.blocks_total,
       p.blocks_done,
       p.tuples_total,
       p.tuples_done,
       p.lockers_total,
       p.lockers_done,
       nullif(p.current_locker_pid, 0)::int4 AS current_locker_pid,
       a.wait_event_type = 'Lock'           AS waiting,
       CASE WHEN a.wait_event_type = 'Lock'
            THEN pg_blocking_pids(a.pid) END AS blocking_pids,
       ARRAY[a.pid, pg_backend_pid()]::int4[] AS our_pids
FROM pg_stat_activity a
LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
WHERE a.pid = $1
  AND ($2::timestamptz IS NULL OR a.backend_start = $2)
  AND a.application_name = 'index-pilot'
  AND a.state = 'active'
  AND a.query ILIKE 'REINDEX%';

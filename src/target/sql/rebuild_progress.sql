-- Is the backend that ran a rebuild still at it? Matches the process id, our
-- application_name, a REINDEX statement and a backend older than the rebuild (so a
-- reused process id is not mistaken for it). Progress from pg_stat_progress_create_index.
SELECT p.phase,
       p.blocks_total,
       p.blocks_done,
       p.tuples_total,
       p.tuples_done
FROM pg_stat_activity a
LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
WHERE a.pid = $1
  AND a.application_name = 'index-pilot'
  AND a.backend_start <= $2
  AND a.query ILIKE 'REINDEX%'
  AND a.state = 'active';

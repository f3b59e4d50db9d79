-- Rebuilds recorded as running on this server: is each one's server process still
-- there (its pid, with the process start it had; a start this role may not see is
-- taken on the pid alone), and does its database (by oid) still exist?
SELECT h.id,
       EXISTS (SELECT FROM pg_stat_activity a
               WHERE a.pid = h.pid
                 AND (a.backend_start IS NULL OR h.backend_start IS NULL
                      OR a.backend_start = h.backend_start)) AS alive,
       EXISTS (SELECT FROM pg_database d WHERE d.oid = h.database_oid) AS database_exists
FROM unnest($1::int8[], $2::int4[], $3::timestamptz[], $4::oid[])
     AS h(id, pid, backend_start, database_oid);

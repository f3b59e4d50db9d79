-- Aurora's readers and how far each lags behind the writer (this instance, whose
-- session_id is MASTER_SESSION_ID).
SELECT server_id::text                    AS server_id,
       replica_lag_in_msec::float8        AS lag_ms
FROM aurora_replica_status()
WHERE session_id IS DISTINCT FROM 'MASTER_SESSION_ID';

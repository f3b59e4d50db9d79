-- The rebuild connection's session, set once: nothing may end a rebuild but its own
-- lock timeout (set per rebuild). Each timeout is reset where the server has it
-- (idle_session_timeout: 14+, transaction_timeout: 17+); with
-- client_connection_check_interval = 0 (14+) a rebuild outlives its client.
-- Returns this process's id and start, which identify the rebuild to later
-- invocations on the target's own clock.
SELECT (SELECT count(set_config(s.name, '0', false))
        FROM pg_settings s
        WHERE s.name IN ('statement_timeout', 'idle_in_transaction_session_timeout',
                         'idle_session_timeout', 'transaction_timeout',
                         'client_connection_check_interval')) AS reset,
       a.pid,
       a.backend_start
FROM pg_stat_activity a
WHERE a.pid = pg_backend_pid();

-- The scan connection's session: catalog reads are quick; one that waits on a lock
-- (pg_relation_size locks each index briefly) or runs away fails with a clear error.
SELECT set_config('lock_timeout', '10s', false),
       set_config('statement_timeout', '5min', false);

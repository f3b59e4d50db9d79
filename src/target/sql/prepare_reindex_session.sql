-- The reindex connection's session: no statement timeout (a rebuild takes what it
-- takes), an explicit lock timeout ($1, in milliseconds) so it never queues behind a
-- lock for long.
SELECT set_config('statement_timeout', '0', false),
       set_config('lock_timeout', $1, false),
       set_config('idle_in_transaction_session_timeout', '0', false);

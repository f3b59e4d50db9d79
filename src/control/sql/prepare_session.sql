-- The control session: every statement of index-pilot here is short (a row or a few
-- thousand); one that is not has met a lock or a server in trouble, and is ended
-- rather than left to hold up the run.
SELECT set_config('statement_timeout', '15s', false);

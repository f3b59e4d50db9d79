-- The scan session's statement_timeout, set for one read and given back after it
-- (not SET LOCAL: that needs a transaction, and a transaction of ours may not stay
-- open around a read).
SELECT set_config('statement_timeout', $1, false);

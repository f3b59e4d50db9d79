-- The scan connection's session: catalog reads are quick. The scan itself never
-- waits for a lock it can see coming (scan_indexes.sql); one taken in the middle of
-- it fails the statement after a short wait, and the scan is tried again.
-- jit: on a large catalog the scan's estimated cost passes the JIT thresholds, and
-- compiling the plan costs more than it saves (a third of the scan at 42,000
-- indexes).
-- statement_timeout is named: a whole-index read sets its own for one statement and
-- gives this one back after it.
SELECT set_config('lock_timeout', '2s', false),
       set_config('statement_timeout', '5min', false) AS statement_timeout,
       set_config('jit', 'off', false);

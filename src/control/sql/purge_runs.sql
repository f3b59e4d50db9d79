-- Runs older than the history kept, with their chains: nothing refers to them any more.
DELETE FROM index_pilot.runs
WHERE created_at < now() - $1::text::interval;

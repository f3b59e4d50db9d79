-- A rebuild that held its server's slot and did not start after all (a false alarm,
-- or deferred by the last look before the statement): nothing ran, nothing to record.
DELETE FROM index_pilot.reindex_history WHERE id = $1 AND status = 'in_progress';

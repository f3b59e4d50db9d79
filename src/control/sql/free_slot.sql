-- A rebuild whose server process has ended: it holds no slot; its own target settles
-- it when next served.
UPDATE index_pilot.reindex_history
SET backend_gone_at = now()
WHERE id = $1 AND status = 'in_progress' AND backend_gone_at IS NULL;

DELETE FROM index_pilot.reindex_history
WHERE started_at < now() - $1::text::interval
  AND status <> 'in_progress';

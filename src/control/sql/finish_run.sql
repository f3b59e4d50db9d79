UPDATE index_pilot.runs
SET status = 'complete', finished_at = now(), updated_at = now()
WHERE run_id = $1 AND status = 'running';

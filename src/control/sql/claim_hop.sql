-- Claims hop $2 of a running run. A duplicate delivery of the same or an older hop
-- claims nothing: it finds the hop already taken.
UPDATE index_pilot.runs
SET hop = $2, updated_at = now()
WHERE run_id = $1
  AND status = 'running'
  AND hop < $2
RETURNING hop;

-- A new run, unless one is running already (the unique index runs_one_running).
INSERT INTO index_pilot.runs (run_id, status)
VALUES ($1, 'running')
ON CONFLICT DO NOTHING
RETURNING run_id;

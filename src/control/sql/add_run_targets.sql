INSERT INTO index_pilot.run_targets (run_id, target)
SELECT $1, unnest($2::text[])
ON CONFLICT DO NOTHING;

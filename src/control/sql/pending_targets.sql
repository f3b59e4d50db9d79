SELECT target FROM index_pilot.run_targets WHERE run_id = $1 AND NOT done ORDER BY target;

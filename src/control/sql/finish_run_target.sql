UPDATE index_pilot.run_targets SET done = true WHERE run_id = $1 AND target = $2;

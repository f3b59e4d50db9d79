DELETE FROM index_pilot.target_leases WHERE target = $1 AND holder = $2;

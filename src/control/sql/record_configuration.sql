-- The target names the configuration lists now.
INSERT INTO index_pilot.configuration (singleton, targets, recorded_at)
VALUES (true, $1::text[], now())
ON CONFLICT (singleton) DO UPDATE
SET targets = excluded.targets, recorded_at = excluded.recorded_at;

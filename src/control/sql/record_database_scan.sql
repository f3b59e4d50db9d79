-- One scan of one database: when it was (every index_state row of the database was
-- seen then).
INSERT INTO index_pilot.database_scans (target, database_oid, database_name, scanned_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (target, database_oid) DO UPDATE
SET database_name = excluded.database_name,
    scanned_at    = excluded.scanned_at;

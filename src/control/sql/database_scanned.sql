-- Whether a scan of this database was recorded before.
SELECT EXISTS (SELECT FROM index_pilot.database_scans
               WHERE target = $1 AND database_oid = $2) AS scanned;

-- Where this primary's WAL stands now.
SELECT pg_current_wal_lsn()::text AS position;

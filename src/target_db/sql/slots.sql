-- Every replication slot and the WAL it keeps from being recycled (from its
-- restart_lsn to now); safe_wal_size: what more it may keep before
-- max_slot_wal_keep_size invalidates it (NULL: no such limit).
SELECT s.slot_name::text                                            AS slot_name,
       s.slot_type,
       s.active,
       s.wal_status = 'lost'                                        AS lost,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::float8 AS retained_bytes,
       s.safe_wal_size::float8                                      AS safe_wal_bytes
FROM pg_replication_slots s;

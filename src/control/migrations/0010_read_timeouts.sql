-- index-pilot control schema, version 10: our own reads are bounded.
--
-- Two settings: max_inspect_size (pgstattuple and pgstatindex read only indexes up to
-- this size) and max_inspect_time (the statement_timeout of each such read and of a
-- confirmation's ANALYZE).
--
-- A read that hit max_inspect_time is kept here, per index and kind of read
-- (pgstattuple: a GiST's first estimate; pgstatindex: a large btree's confirmation;
-- analyze: the ANALYZE of its table before a rebuild), and is not tried again on that
-- index for 7 days: an index that took longer than that to read takes as long next
-- time, and every hop of every schedule would spend the whole time again. A dry run
-- reads these rows and writes none. Rows older than the 7 days are dropped when the
-- next timeout of their database is recorded.

ALTER TABLE index_pilot.settings DROP CONSTRAINT settings_key_check;
ALTER TABLE index_pilot.settings ADD CONSTRAINT settings_key_check CHECK (key IN (
    'index_size_threshold',
    'index_rebuild_scale_factor',
    'minimum_reliable_index_size',
    'reindex_history_retention_period',
    'skip',
    'lock_timeout',
    'max_blocker_age',
    'max_rebuild_wait',
    'quarantine_after',
    'maintenance_work_mem',
    'max_parallel_maintenance_workers',
    'max_rebuilds_per_server',
    'max_automatic_index_size',
    'initial_baseline',
    'confirm_size_threshold',
    'analyze_before_rebuild',
    'max_replica_lag',
    'max_replica_lag_bytes',
    'max_slot_retained_wal',
    'wraparound_danger_age',
    'min_free_storage',
    'max_inspect_size',
    'max_inspect_time'));

CREATE TABLE index_pilot.read_timeouts (
    target        text        NOT NULL,
    database_name text        NOT NULL,
    database_oid  oid         NOT NULL,
    index_oid     oid         NOT NULL,
    read_kind     text        NOT NULL CHECK (read_kind IN ('pgstattuple', 'pgstatindex', 'analyze')),
    schema_name   text        NOT NULL,
    index_name    text        NOT NULL,
    -- The index's size when the read timed out, and the max_inspect_time it hit.
    size_bytes    bigint      NOT NULL,
    timeout_ms    bigint      NOT NULL,
    timed_out_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, database_oid, index_oid, read_kind)
);

-- index-pilot control schema, version 9: the settings that keep a rebuild from
-- harming the cluster around the primary (replication, wraparound, disk) and that
-- bound our own reads (max_inspect_size, max_inspect_time: version 10), and the
-- limit of rebuilds per server kept by the server's own identity, one number per
-- server.

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

-- server: from version 9 what the server says it is ('system <identifier>', else
-- 'address <ip>:<port>'), no longer the host string that reached it. server_limit:
-- the max_rebuilds_per_server of whoever started the rebuild.
COMMENT ON COLUMN index_pilot.reindex_history.server IS
    'the server the rebuild runs on, as it identifies itself (system identifier, else address)';
ALTER TABLE index_pilot.reindex_history ADD COLUMN server_limit integer;

-- Records a rebuild as started, unless its server already runs as many rebuilds as
-- the least limit of those involved allows (then NULL): a target whose limit is 1
-- is not joined by one whose limit is 4, nor does it join four. Invocations starting
-- rebuilds on one server at the same moment queue on an advisory lock; a VOLATILE
-- function takes a fresh snapshot per statement, so the count sees every rebuild
-- recorded before the lock was granted.
CREATE OR REPLACE FUNCTION index_pilot.start_reindex(
    p_server           text,
    p_server_limit     integer,
    p_run_id           uuid,
    p_target           text,
    p_database_name    text,
    p_database_oid     oid,
    p_schema_name      text,
    p_table_name       text,
    p_index_name       text,
    p_access_method    text,
    p_index_oid_before oid,
    p_reason           text,
    p_estimated_bloat  double precision,
    p_size_before      bigint,
    p_reltuples_before double precision,
    p_backend_pid      integer,
    p_backend_start    timestamptz,
    p_table_oid        oid,
    p_owner_schema     text,
    p_owner_table      text,
    p_invalid_before   oid[]
) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    new_id  bigint;
    running bigint;
    least_limit integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('index_pilot server ' || p_server, 0));
    SELECT count(*), least(p_server_limit, min(server_limit))
    INTO running, least_limit
    FROM index_pilot.reindex_history
    WHERE server = p_server AND status = 'in_progress';
    IF running >= least_limit THEN
        RETURN NULL;
    END IF;
    INSERT INTO index_pilot.reindex_history
           (run_id, target, database_name, database_oid, schema_name, table_name,
            index_name, access_method, index_oid_before, status, reason, estimated_bloat,
            size_before, reltuples_before, backend_pid, backend_start, table_oid,
            owner_schema, owner_table, invalid_before, server, server_limit)
    VALUES (p_run_id, p_target, p_database_name, p_database_oid, p_schema_name,
            p_table_name, p_index_name, p_access_method, p_index_oid_before,
            'in_progress', p_reason, p_estimated_bloat, p_size_before, p_reltuples_before,
            p_backend_pid, p_backend_start, p_table_oid, p_owner_schema, p_owner_table,
            p_invalid_before, p_server, p_server_limit)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- index-pilot control schema, version 12: no stale slots.
--
-- An in_progress row counts toward max_rebuilds_per_server only while its server
-- process is there. When a look at the server (pg_stat_activity: the row's
-- backend_pid and backend_start) finds it gone, backend_gone_at is set: the row holds
-- no slot, and stays in_progress until its own target settles it (how it ended, what
-- it left). A row nobody will settle (its target no longer configured, its database
-- dropped or recreated) is closed as failed, class gone.

ALTER TABLE index_pilot.reindex_history ADD COLUMN backend_gone_at timestamptz;

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
    WHERE server = p_server AND status = 'in_progress' AND backend_gone_at IS NULL;
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

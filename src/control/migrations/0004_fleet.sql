-- index-pilot control schema, version 4: a fleet, not a queue. Runs no longer
-- exclude one another; each target keeps its own progress; rebuilds are counted per
-- server so that one server gets at most max_rebuilds_per_server at once.

-- A run is what one schedule started: a record for people and reports. Its targets
-- are worked on by one chain of invocations, or by one chain per shard.
DROP INDEX index_pilot.runs_one_running;
DROP TABLE index_pilot.run_targets;
ALTER TABLE index_pilot.runs
    DROP COLUMN status,
    DROP COLUMN hop,
    DROP COLUMN updated_at,
    DROP COLUMN finished_at,
    ADD COLUMN targets integer NOT NULL DEFAULT 0,
    ADD COLUMN shards  integer NOT NULL DEFAULT 1;

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
    'max_automatic_index_size'));

-- The hops of one chain: a duplicate delivery of a hop finds it already taken.
CREATE TABLE index_pilot.run_chains (
    run_id     uuid        NOT NULL REFERENCES index_pilot.runs ON DELETE CASCADE,
    shard      integer     NOT NULL,
    hop        integer     NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, shard)
);

-- Where each target stands after the last invocation that worked on it. Targets
-- that were served longest ago go first.
CREATE TABLE index_pilot.target_progress (
    target    text        PRIMARY KEY,
    run_id    uuid        NOT NULL,
    hop       integer     NOT NULL,
    state     text        NOT NULL CHECK (state IN ('done', 'more_work', 'waiting', 'error')),
    reason    text,
    served_at timestamptz NOT NULL DEFAULT now()
);

-- The server (host:port) each rebuild runs on.
ALTER TABLE index_pilot.reindex_history ADD COLUMN server text;
CREATE INDEX reindex_history_running_per_server ON index_pilot.reindex_history (server)
    WHERE status = 'in_progress';

-- Records a rebuild as started, unless its server already runs p_server_limit
-- rebuilds (then NULL). Invocations starting rebuilds on one server at the same
-- moment queue on an advisory lock; a VOLATILE function takes a fresh snapshot per
-- statement, so the count sees every rebuild recorded before the lock was granted.
CREATE FUNCTION index_pilot.start_reindex(
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
    new_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('index_pilot server ' || p_server, 0));
    IF (SELECT count(*) FROM index_pilot.reindex_history
        WHERE server = p_server AND status = 'in_progress') >= p_server_limit THEN
        RETURN NULL;
    END IF;
    INSERT INTO index_pilot.reindex_history
           (run_id, target, database_name, database_oid, schema_name, table_name,
            index_name, access_method, index_oid_before, status, reason, estimated_bloat,
            size_before, reltuples_before, backend_pid, backend_start, table_oid,
            owner_schema, owner_table, invalid_before, server)
    VALUES (p_run_id, p_target, p_database_name, p_database_oid, p_schema_name,
            p_table_name, p_index_name, p_access_method, p_index_oid_before,
            'in_progress', p_reason, p_estimated_bloat, p_size_before, p_reltuples_before,
            p_backend_pid, p_backend_start, p_table_oid, p_owner_schema, p_owner_table,
            p_invalid_before, p_server)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- For people: where every target stands.
CREATE VIEW index_pilot.targets AS
SELECT p.target,
       p.state,
       p.reason,
       p.served_at,
       now() - p.served_at AS since,
       p.run_id,
       p.hop
FROM index_pilot.target_progress p
ORDER BY p.served_at;

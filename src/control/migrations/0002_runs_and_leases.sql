-- index-pilot control schema, version 2: runs that span several invocations, target
-- leases, and the backend running each rebuild.

-- A run of mode "run": created by a scheduled invocation, continued by
-- self-invocations that carry its run_id and the next hop.
CREATE TABLE index_pilot.runs (
    run_id      uuid        PRIMARY KEY,
    status      text        NOT NULL CHECK (status IN ('running', 'complete')),
    hop         integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- At most one run in progress: invocations that start together agree on it.
CREATE UNIQUE INDEX runs_one_running ON index_pilot.runs (status) WHERE status = 'running';

-- The cursor: which targets of a run still have work.
CREATE TABLE index_pilot.run_targets (
    run_id uuid    NOT NULL REFERENCES index_pilot.runs ON DELETE CASCADE,
    target text    NOT NULL,
    done   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, target)
);

-- One invocation at a time per target, whatever run or event it serves.
CREATE TABLE index_pilot.target_leases (
    target     text        PRIMARY KEY,
    holder     uuid        NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The server process running a rebuild: a later invocation follows a rebuild that
-- outlived the invocation that started it.
ALTER TABLE index_pilot.reindex_history ADD COLUMN backend_pid integer;

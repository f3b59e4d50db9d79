-- index-pilot control schema, version 3: rebuilds known by identity, leftovers kept
-- by oid, failures classified by SQLSTATE, quarantine.

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
    'max_parallel_maintenance_workers'));

ALTER TABLE index_pilot.reindex_history
    -- The rebuilding process's start on the target's own clock: with backend_pid it
    -- identifies a rebuild still running, whatever the control database's clock says.
    ADD COLUMN backend_start  timestamptz,
    ADD COLUMN table_oid      oid,
    -- For a TOAST index: the table that owns it, whose settings apply.
    ADD COLUMN owner_schema   text,
    ADD COLUMN owner_table    text,
    -- Invalid indexes on the table before the rebuild started: never ours.
    ADD COLUMN invalid_before oid[] NOT NULL DEFAULT '{}',
    -- The copy (_ccnew) as seen while it was built.
    ADD COLUMN copy_oid       oid,
    ADD COLUMN sqlstate       text,
    ADD COLUMN failure_class  text CHECK (failure_class IN ('blocked', 'index', 'target', 'gone', 'other')),
    -- Who the rebuild waited for when it failed (never their query text).
    ADD COLUMN blocked_by     jsonb;

-- Leftovers are now kept by oid, below; names alone never made them ours.
ALTER TABLE index_pilot.reindex_history DROP COLUMN leftover_indexes;

-- Invalid indexes our own rebuilds left behind and could not drop at once. Only
-- these are ever dropped, after checking the oid still carries the name.
CREATE TABLE index_pilot.leftovers (
    target       text        NOT NULL,
    database_oid oid         NOT NULL,
    index_oid    oid         NOT NULL,
    schema_name  text        NOT NULL,
    index_name   text        NOT NULL,
    table_oid    oid         NOT NULL,
    table_name   text        NOT NULL,
    history_id   bigint      REFERENCES index_pilot.reindex_history ON DELETE SET NULL,
    found_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, database_oid, index_oid)
);

-- Indexes put aside after failed rebuilds. An operator releases one by setting
-- released_at (README: "Quarantine").
CREATE TABLE index_pilot.quarantine (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target         text        NOT NULL,
    database_name  text        NOT NULL,
    database_oid   oid         NOT NULL,
    index_oid      oid         NOT NULL,
    schema_name    text        NOT NULL,
    index_name     text        NOT NULL,
    table_name     text        NOT NULL,
    sqlstate       text,
    error          text        NOT NULL,
    failures       integer     NOT NULL,
    history_id     bigint      REFERENCES index_pilot.reindex_history ON DELETE SET NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    released_at    timestamptz,
    released_by    text
);

CREATE UNIQUE INDEX quarantine_active ON index_pilot.quarantine (target, database_oid, index_oid)
    WHERE released_at IS NULL;
CREATE INDEX reindex_history_index ON index_pilot.reindex_history (target, database_oid, index_oid_before);

-- For people: what is in quarantine now.
CREATE VIEW index_pilot.quarantined AS
SELECT q.id,
       q.quarantined_at,
       q.target,
       q.database_name,
       format('%I.%I', q.schema_name, q.index_name) AS index,
       q.table_name,
       q.sqlstate,
       q.error,
       q.failures
FROM index_pilot.quarantine q
WHERE q.released_at IS NULL
ORDER BY q.quarantined_at;

CREATE OR REPLACE VIEW index_pilot.history AS
SELECT h.id,
       h.started_at,
       h.finished_at,
       h.target,
       h.database_name,
       format('%I.%I', h.schema_name, h.index_name) AS index,
       h.table_name,
       h.access_method,
       h.status,
       h.reason,
       round(h.estimated_bloat::numeric, 2)          AS estimated_bloat,
       pg_size_pretty(h.size_before)                 AS size_before,
       pg_size_pretty(h.size_after)                  AS size_after,
       h.size_before                                 AS size_before_bytes,
       h.size_after                                  AS size_after_bytes,
       make_interval(secs => h.duration_ms / 1000.0) AS duration,
       h.error,
       h.run_id,
       h.sqlstate,
       h.failure_class
FROM index_pilot.reindex_history h
ORDER BY h.id DESC;

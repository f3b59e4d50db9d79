-- index-pilot control schema, version 1.
-- Applied by index-pilot itself, in one transaction, under an advisory lock.

-- Overrides of the built-in defaults. NULL in a scope column means "any"; patterns may
-- hold * (any run of characters) and ? (one character). The most specific row wins:
-- index, then table, then schema, then database (or target), then global.
CREATE TABLE index_pilot.settings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target        text,
    database_name text,
    schema_name   text,
    table_name    text,
    index_name    text,
    key           text NOT NULL CHECK (key IN (
                      'index_size_threshold',
                      'index_rebuild_scale_factor',
                      'minimum_reliable_index_size',
                      'reindex_history_retention_period',
                      'skip',
                      'lock_timeout')),
    value         text NOT NULL,
    comment       text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX settings_scope_key ON index_pilot.settings (
    coalesce(target, ''), coalesce(database_name, ''), coalesce(schema_name, ''),
    coalesce(table_name, ''), coalesce(index_name, ''), key);

-- One row per index seen by a run: its latest size and its baseline. An index is
-- identified by target, database oid and index oid; REINDEX CONCURRENTLY gives the
-- index a new oid, and only index-pilot's own rebuild carries the row over.
CREATE TABLE index_pilot.index_state (
    target          text             NOT NULL,
    database_name   text             NOT NULL,
    database_oid    oid              NOT NULL,
    index_oid       oid              NOT NULL,
    schema_name     text             NOT NULL,
    table_name      text             NOT NULL,
    index_name      text             NOT NULL,
    access_method   text             NOT NULL,
    size_bytes      bigint           NOT NULL,
    reltuples       double precision NOT NULL,
    -- bytes per index tuple at the last scan
    ratio           double precision NOT NULL,
    -- the baseline: bytes per tuple right after the last build; NULL while unknown
    best_ratio      double precision,
    baseline_set_at timestamptz,
    last_seen_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (target, database_oid, index_oid)
);

-- Every rebuild: a row 'in_progress' before it starts, 'completed' or 'failed' after.
CREATE TABLE index_pilot.reindex_history (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id           uuid             NOT NULL,
    target           text             NOT NULL,
    database_name    text             NOT NULL,
    database_oid     oid              NOT NULL,
    schema_name      text             NOT NULL,
    table_name       text             NOT NULL,
    index_name       text             NOT NULL,
    access_method    text             NOT NULL,
    index_oid_before oid              NOT NULL,
    index_oid_after  oid,
    status           text             NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed')),
    reason           text             NOT NULL,
    estimated_bloat  double precision,
    size_before      bigint           NOT NULL,
    size_after       bigint,
    reltuples_before double precision NOT NULL,
    reltuples_after  double precision,
    started_at       timestamptz      NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    duration_ms      bigint,
    error            text,
    -- invalid _ccnew/_ccold indexes this rebuild left and could not drop at once;
    -- a later run drops them
    leftover_indexes text[]           NOT NULL DEFAULT '{}'
);

CREATE INDEX reindex_history_target ON index_pilot.reindex_history (target, database_oid, started_at);
CREATE INDEX reindex_history_started_at ON index_pilot.reindex_history (started_at);

-- For people: every rebuild, newest first, sizes readable.
CREATE VIEW index_pilot.history AS
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
       h.run_id
FROM index_pilot.reindex_history h
ORDER BY h.id DESC;

-- For people: the latest estimate of every index, most bloated first; unknown bloat
-- (no baseline yet) first of all.
CREATE VIEW index_pilot.current_bloat AS
SELECT s.target,
       s.database_name,
       format('%I.%I', s.schema_name, s.index_name)    AS index,
       s.table_name,
       s.access_method,
       pg_size_pretty(s.size_bytes)                    AS size,
       s.size_bytes,
       round((s.ratio / s.best_ratio)::numeric, 2)     AS estimated_bloat,
       round(s.ratio::numeric, 1)                      AS bytes_per_tuple,
       round(s.best_ratio::numeric, 1)                 AS baseline_bytes_per_tuple,
       s.baseline_set_at,
       s.last_seen_at
FROM index_pilot.index_state s
ORDER BY s.ratio / s.best_ratio DESC NULLS FIRST, s.size_bytes DESC;

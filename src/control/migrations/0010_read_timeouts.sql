-- index-pilot control schema, version 10: our own reads are bounded.
--
-- Two settings (their keys allowed since version 9): max_inspect_size (pgstattuple and
-- pgstatindex read only indexes up to this size) and max_inspect_time (the
-- statement_timeout of each such read and of a confirmation's ANALYZE).
--
-- A read that hit max_inspect_time is kept here, per index and kind of read
-- (pgstattuple: a GiST's first estimate; pgstatindex: a large btree's confirmation;
-- analyze: the ANALYZE of its table before a rebuild), and is not tried again on that
-- index for 7 days: an index that took longer than that to read takes as long next
-- time, and every hop of every schedule would spend the whole time again. A dry run
-- reads these rows and writes none. Rows older than the 7 days are dropped when the
-- next timeout of their database is recorded.

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

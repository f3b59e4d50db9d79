-- Records the indexes whose state changed since the last scan, in one statement.
-- $4..$13 are parallel arrays, one element per index.
INSERT INTO index_pilot.index_state AS s
       (target, database_name, database_oid, index_oid, schema_name, table_name,
        index_name, access_method, size_bytes, reltuples, ratio, best_ratio,
        baseline_set_at, last_seen_at, state_digest)
SELECT $1, $2, $3, u.index_oid, u.schema_name, u.table_name,
       u.index_name, u.access_method, u.size_bytes, u.reltuples, u.ratio, u.best_ratio,
       CASE WHEN u.best_ratio IS NOT NULL THEN now() END, now(), u.state_digest
FROM unnest($4::oid[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int8[], $10::float8[], $11::float8[], $12::float8[], $13::int8[])
     AS u(index_oid, schema_name, table_name, index_name, access_method,
          size_bytes, reltuples, ratio, best_ratio, state_digest)
ON CONFLICT (target, database_oid, index_oid) DO UPDATE
SET database_name   = excluded.database_name,
    schema_name     = excluded.schema_name,
    table_name      = excluded.table_name,
    index_name      = excluded.index_name,
    access_method   = excluded.access_method,
    size_bytes      = excluded.size_bytes,
    reltuples       = excluded.reltuples,
    ratio           = excluded.ratio,
    best_ratio      = excluded.best_ratio,
    baseline_set_at = CASE WHEN excluded.best_ratio IS DISTINCT FROM s.best_ratio
                           THEN excluded.baseline_set_at
                           ELSE s.baseline_set_at END,
    last_seen_at    = now(),
    state_digest    = excluded.state_digest;

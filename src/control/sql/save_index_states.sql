-- Records the indexes whose state changed since the last scan, in one statement.
-- $4..$22 are parallel arrays, one element per index. $14 (how the baseline was set)
-- is NULL where this scan kept the baseline it found: a baseline set anew also
-- restarts the index's trend from today's size per tuple.
INSERT INTO index_pilot.index_state AS s
       (target, database_name, database_oid, index_oid, schema_name, table_name,
        index_name, access_method, size_bytes, reltuples, ratio, best_ratio,
        baseline_set_at, last_seen_at, state_digest, baseline_source, from_first_scan,
        scale_factor, trend_since, trend_ratio, size_threshold, reliable_size,
        skipped_by, skip_setting, verdict, why, judged_at)
SELECT $1, $2, $3, u.index_oid, u.schema_name, u.table_name,
       u.index_name, u.access_method, u.size_bytes, u.reltuples, u.ratio, u.best_ratio,
       CASE WHEN u.best_ratio IS NOT NULL THEN now() END, now(), u.state_digest,
       u.baseline_source, u.from_first_scan, u.scale_factor, now(), u.ratio,
       u.size_threshold, u.reliable_size, u.skipped_by, u.skip_setting, u.verdict, u.why,
       now()
FROM unnest($4::oid[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int8[], $10::float8[], $11::float8[], $12::float8[], $13::int8[],
            $14::text[], $15::bool[], $16::float8[], $17::int8[], $18::int8[],
            $19::text[], $20::int8[], $21::text[], $22::text[])
     AS u(index_oid, schema_name, table_name, index_name, access_method,
          size_bytes, reltuples, ratio, best_ratio, state_digest,
          baseline_source, from_first_scan, scale_factor, size_threshold, reliable_size,
          skipped_by, skip_setting, verdict, why)
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
    state_digest    = excluded.state_digest,
    baseline_source = coalesce(excluded.baseline_source, s.baseline_source),
    scale_factor    = excluded.scale_factor,
    size_threshold  = excluded.size_threshold,
    reliable_size   = excluded.reliable_size,
    skipped_by      = excluded.skipped_by,
    skip_setting    = excluded.skip_setting,
    -- Since when the index stands where it stands.
    judged_at       = CASE WHEN excluded.verdict IS DISTINCT FROM s.verdict
                           THEN now() ELSE s.judged_at END,
    verdict         = excluded.verdict,
    why             = excluded.why,
    trend_since     = CASE WHEN excluded.baseline_source IS NOT NULL
                           THEN now() ELSE s.trend_since END,
    trend_ratio     = CASE WHEN excluded.baseline_source IS NOT NULL
                           THEN excluded.ratio ELSE s.trend_ratio END;

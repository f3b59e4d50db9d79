-- index-pilot control schema, version 15: max_rebuild_maintenance_work_mem, what an
-- HNSW rebuild's session may raise maintenance_work_mem to so that pgvector's graph
-- fits in memory (default 1GB). Its key is allowed, and its value checked on insert
-- as maintenance_work_mem's is (1MB to 2147483647 kB); the rules stay index-pilot's
-- own (src/domain/settings/keys.rs).

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
    'max_inspect_time',
    'max_rebuild_maintenance_work_mem'));

CREATE OR REPLACE FUNCTION index_pilot.setting_value_problem(p_key text, p_value text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v       text := lower(regexp_replace(p_value, '^\s+|\s+$', '', 'g'));
    m       text[];
    amount  numeric;
BEGIN
    IF p_value IS NULL THEN
        RETURN 'a value is needed';
    END IF;
    IF p_key IN ('max_automatic_index_size', 'confirm_size_threshold', 'max_replica_lag',
                 'max_replica_lag_bytes', 'max_slot_retained_wal')
       AND v IN ('off', 'none') THEN
        RETURN NULL;
    END IF;
    IF p_key IN ('index_size_threshold', 'minimum_reliable_index_size',
                 'maintenance_work_mem', 'max_rebuild_maintenance_work_mem',
                 'max_automatic_index_size',
                 'confirm_size_threshold', 'max_replica_lag_bytes',
                 'max_slot_retained_wal', 'min_free_storage', 'max_inspect_size') THEN
        m := regexp_match(v, '^(\d+\.?\d*|\.\d+)\s*(b|bytes|kb|mb|gb|tb)?$');
        IF m IS NULL THEN
            RETURN format('%L is not a size: a number of bytes with an optional unit B, kB, MB, GB or TB', p_value);
        END IF;
        amount := round(m[1]::numeric * CASE coalesce(m[2], '')
            WHEN 'kb' THEN 1024 WHEN 'mb' THEN 1048576 WHEN 'gb' THEN 1073741824
            WHEN 'tb' THEN 1099511627776 ELSE 1 END);
        IF amount > 9223372036854775807 THEN
            RETURN format('%L is not a size: too large', p_value);
        END IF;
        IF p_key IN ('maintenance_work_mem', 'max_rebuild_maintenance_work_mem') AND amount < 1048576 THEN
            RETURN format('%L is below 1MB, PostgreSQL''s minimum', p_value);
        END IF;
        IF p_key IN ('maintenance_work_mem', 'max_rebuild_maintenance_work_mem')
           AND floor(amount / 1024) > 2147483647 THEN
            RETURN format('%L is above 2147483647 kB, PostgreSQL''s maximum', p_value);
        END IF;
        RETURN NULL;
    END IF;
    IF p_key IN ('lock_timeout', 'max_blocker_age', 'max_rebuild_wait', 'max_replica_lag',
                 'max_inspect_time') THEN
        m := regexp_match(v, '^(\d+\.?\d*|\.\d+)\s*(ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hour|hours|d|day|days)$');
        IF m IS NULL THEN
            RETURN format('%L is not a duration: a number with a unit ms, s, m/min, h or d', p_value);
        END IF;
        -- In milliseconds.
        amount := m[1]::numeric * CASE
            WHEN m[2] = 'ms' THEN 1
            WHEN m[2] IN ('s', 'sec', 'secs', 'second', 'seconds') THEN 1000
            WHEN m[2] IN ('m', 'min', 'mins', 'minute', 'minutes') THEN 60000
            WHEN m[2] IN ('h', 'hour', 'hours') THEN 3600000
            ELSE 86400000 END;
        IF amount = 0 THEN
            RETURN format('%L: 0 is not allowed for %s', p_value, p_key);
        END IF;
        IF amount >= 18446744073709551615000 THEN
            RETURN format('%L is not a duration: too long', p_value);
        END IF;
        IF p_key = 'lock_timeout' AND floor(amount) > 2147483647 THEN
            RETURN format('%L is above 2147483647 ms, the largest lock_timeout PostgreSQL accepts', p_value);
        END IF;
        RETURN NULL;
    END IF;
    IF p_key IN ('skip', 'analyze_before_rebuild') THEN
        IF v IN ('true', 'on', 'yes', '1', 'false', 'off', 'no', '0') THEN
            RETURN NULL;
        END IF;
        RETURN format('%L is not a boolean (true or false)', p_value);
    END IF;
    IF p_key IN ('quarantine_after', 'max_parallel_maintenance_workers',
                 'max_rebuilds_per_server', 'wraparound_danger_age') THEN
        -- In parentheses: an IF's condition ends at the first THEN outside them.
        IF v ~ '^\+?\d+$' AND (CASE p_key
                WHEN 'quarantine_after' THEN ltrim(v, '+')::numeric BETWEEN 1 AND 1000
                WHEN 'max_parallel_maintenance_workers' THEN ltrim(v, '+')::numeric BETWEEN 0 AND 1024
                WHEN 'max_rebuilds_per_server' THEN ltrim(v, '+')::numeric BETWEEN 1 AND 64
                ELSE ltrim(v, '+')::numeric BETWEEN 1 AND 2000000000 END) THEN
            RETURN NULL;
        END IF;
        RETURN format('%L is not a whole number in the range %s accepts', p_value, p_key);
    END IF;
    IF p_key = 'index_rebuild_scale_factor' THEN
        IF v ~ '^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$'
           AND v::numeric > 1 AND v::numeric <= 1.7976931348623157e308 THEN
            RETURN NULL;
        END IF;
        RETURN format('%L is not a factor greater than 1 (e.g. 2)', p_value);
    END IF;
    IF p_key = 'initial_baseline' THEN
        IF v IN ('estimate', 'current', 'rebuild') THEN
            RETURN NULL;
        END IF;
        RETURN format('%L is not an initial_baseline policy: estimate, current or rebuild', p_value);
    END IF;
    -- PostgreSQL reads the interval where it is used.
    IF p_key = 'reindex_history_retention_period' AND v = '' THEN
        RETURN 'an empty interval';
    END IF;
    RETURN NULL;
END
$$;

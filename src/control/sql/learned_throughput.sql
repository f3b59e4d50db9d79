-- Bytes per second of this target's recent rebuilds, per access method: the last 20
-- completed rebuilds of each (no row for a method without any).
SELECT access_method,
       count(*)::int4 AS rebuilds,
       sum(size_before)::float8 / nullif(sum(duration_ms), 0) * 1000 AS bytes_per_second
FROM (SELECT access_method, size_before, duration_ms,
             row_number() OVER (PARTITION BY access_method ORDER BY id DESC) AS recent
      FROM index_pilot.reindex_history
      WHERE target = $1
        AND status = 'completed'
        AND duration_ms > 0) history
WHERE recent <= 20
GROUP BY access_method;

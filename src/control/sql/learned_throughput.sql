-- Bytes per second this target's recent rebuilds achieved (NULL before any).
SELECT sum(size_before)::float8 / nullif(sum(duration_ms), 0) * 1000 AS bytes_per_second
FROM (SELECT size_before, duration_ms
      FROM index_pilot.reindex_history
      WHERE target = $1
        AND status = 'completed'
        AND duration_ms > 0
      ORDER BY id DESC
      LIMIT 20) recent;

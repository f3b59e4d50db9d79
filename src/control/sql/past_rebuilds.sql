-- How the last rebuilds of one index ended, newest first, since an operator last
-- released it from quarantine.
SELECT h.status, h.failure_class
FROM index_pilot.reindex_history h
WHERE h.target = $1
  AND h.database_oid = $2
  AND h.index_oid_before = $3
  AND h.status <> 'in_progress'
  AND h.started_at > coalesce((SELECT max(q.released_at)
                               FROM index_pilot.quarantine q
                               WHERE q.target = $1
                                 AND q.database_oid = $2
                                 AND q.index_oid = $3), '-infinity')
ORDER BY h.id DESC
LIMIT 100;

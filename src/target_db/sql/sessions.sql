-- Sessions of this database that a REINDEX CONCURRENTLY of table $1 could wait for:
-- every session in a transaction (does it hold a snapshot? a lock on the table?) and
-- every prepared transaction (does it hold a lock on the table?). $2: our own processes, left out. $3: only these
-- processes (0 for prepared transactions), or NULL for all; autovacuum then is left
-- out, as REINDEX does not wait for its snapshot and it gives way to the rebuild's
-- locks. Never the query text: it can carry data.
WITH db AS (
    SELECT oid FROM pg_database WHERE datname = current_database()
), table_lockers AS MATERIALIZED (
    SELECT DISTINCT l.pid
    FROM pg_locks l, db
    WHERE l.locktype = 'relation'
      AND l.database = db.oid
      AND l.relation = $1
      AND l.granted
)
SELECT a.pid,
       a.usename::text                                      AS user_name,
       a.application_name,
       host(a.client_addr)                                  AS client_addr,
       a.state,
       extract(epoch FROM now() - a.xact_start)::float8     AS age_s,
       a.backend_xmin IS NOT NULL                           AS holds_snapshot,
       a.pid IN (SELECT pid FROM table_lockers)             AS locks_table,
       false                                                AS prepared
FROM pg_stat_activity a, db
WHERE a.datid = db.oid
  -- Without pg_read_all_stats another role's transaction start is hidden: such a
  -- session is named when a rebuild waits for it, not seen before.
  AND ($3::int4[] IS NOT NULL OR a.xact_start IS NOT NULL)
  AND a.pid <> pg_backend_pid()
  AND a.pid <> ALL ($2::int4[])
  AND ($3::int4[] IS NULL OR a.pid = ANY ($3::int4[]))
  AND ($3::int4[] IS NOT NULL OR a.backend_type IS DISTINCT FROM 'autovacuum worker')
UNION ALL
-- A prepared transaction has no snapshot; its locks (pid NULL) are known by the
-- virtual transaction that also holds its own transaction id.
SELECT NULL,
       p.owner::text,
       NULL,
       NULL,
       'prepared',
       extract(epoch FROM now() - p.prepared)::float8,
       false,
       EXISTS (SELECT 1
               FROM pg_locks x
               JOIN pg_locks l ON l.virtualtransaction = x.virtualtransaction
               WHERE x.locktype = 'transactionid'
                 AND x.transactionid = p.transaction
                 AND x.pid IS NULL
                 AND l.locktype = 'relation'
                 AND l.database = db.oid
                 AND l.relation = $1),
       true
FROM pg_prepared_xacts p, db
WHERE p.database = current_database()
  AND ($3::int4[] IS NULL OR 0 = ANY ($3::int4[]));

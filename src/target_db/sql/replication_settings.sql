-- What every commit waits for (synchronous_standby_names, synchronous_commit), and
-- whether this is Aurora (its readers are in aurora_replica_status(), not in
-- pg_stat_replication).
SELECT current_setting('synchronous_standby_names')                AS synchronous_standby_names,
       current_setting('synchronous_commit')                       AS synchronous_commit,
       to_regprocedure('aurora_replica_status()') IS NOT NULL       AS aurora;

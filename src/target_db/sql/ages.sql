-- How old the oldest unfrozen transaction and multixact ids of table $1 and of this
-- database are, and the ages at which autovacuum must freeze the table: its own
-- reloptions where lower (autovacuum ignores higher ones), else the server's.
SELECT age(c.relfrozenxid)::int8      AS table_xid_age,
       mxid_age(c.relminmxid)::int8   AS table_mxid_age,
       least(current_setting('autovacuum_freeze_max_age')::int8,
             (SELECT o.option_value::int8 FROM pg_options_to_table(c.reloptions) o
              WHERE o.option_name = 'autovacuum_freeze_max_age'))
                                      AS freeze_max_age,
       least(current_setting('autovacuum_multixact_freeze_max_age')::int8,
             (SELECT o.option_value::int8 FROM pg_options_to_table(c.reloptions) o
              WHERE o.option_name = 'autovacuum_multixact_freeze_max_age'))
                                      AS multixact_freeze_max_age,
       age(d.datfrozenxid)::int8      AS database_xid_age,
       mxid_age(d.datminmxid)::int8   AS database_mxid_age
FROM pg_class c, pg_database d
WHERE c.oid = $1
  AND d.datname = current_database();

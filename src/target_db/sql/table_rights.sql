-- Whether this role may rebuild the indexes of each table: REINDEX and DROP INDEX
-- need the table's owner (or a member of the owning role), or MAINTAIN (PostgreSQL
-- 17+, granted with pg_maintain). $1: the tables to look at; NULL: every table and
-- materialized view of a user schema that has an index. CASE keeps the MAINTAIN
-- test (an unknown privilege before 17) from being evaluated on older servers.
SELECT c.oid                                        AS table_oid,
       format('%I.%I', n.nspname, c.relname)        AS table_name,
       pg_get_userbyid(c.relowner)::text            AS owner,
       CASE WHEN pg_has_role(c.relowner, 'USAGE') THEN true
            WHEN current_setting('server_version_num')::int4 >= 170000
                THEN has_table_privilege(c.oid, 'MAINTAIN')
            ELSE false
       END                                          AS may_rebuild
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE CASE WHEN $1::oid[] IS NULL
           THEN c.relkind IN ('r', 'm') AND c.relhasindex
                AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
           ELSE c.oid = ANY ($1::oid[])
      END
ORDER BY 2;

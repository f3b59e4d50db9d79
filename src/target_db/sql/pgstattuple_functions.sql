-- Where the pgstattuple extension lives, and which of its functions this role may run
-- (by default members of pg_stat_scan_tables).
SELECT n.nspname::text AS schema_name,
       coalesce(has_function_privilege(
           to_regprocedure(format('%I.pgstattuple(regclass)', n.nspname)), 'EXECUTE'), false)
           AS pgstattuple,
       coalesce(has_function_privilege(
           to_regprocedure(format('%I.pgstatindex(regclass)', n.nspname)), 'EXECUTE'), false)
           AS pgstatindex
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pgstattuple';

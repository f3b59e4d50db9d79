-- What kind of server this is, and which database we are in.
SELECT current_setting('server_version_num')::int4 AS server_version_num,
       pg_is_in_recovery()                         AS in_recovery,
       d.datname::text                             AS database_name,
       d.oid                                       AS database_oid
FROM pg_database d
WHERE d.datname = current_database();

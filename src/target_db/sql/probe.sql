-- What kind of server this is, which database we are in, and who the server says it
-- is: whether this role may read its system identifier, and the address and port this
-- connection arrived at (NULL over a Unix socket). pgvector's version in this
-- database (NULL: not installed), for its known bugs (src/domain/pgvector.rs).
SELECT current_setting('server_version_num')::int4 AS server_version_num,
       pg_is_in_recovery()                         AS in_recovery,
       d.datname::text                             AS database_name,
       d.oid                                       AS database_oid,
       -- Checked before the plan calls it: system_identifier.sql reads it then.
       has_function_privilege('pg_control_system()', 'EXECUTE')
                                                   AS may_read_system_identifier,
       host(inet_server_addr())                    AS server_addr,
       inet_server_port()                          AS server_port,
       (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'vector')
                                                   AS pgvector_version
FROM pg_database d
WHERE d.datname = current_database();

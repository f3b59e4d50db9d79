-- The server's system identifier: the same for every name and address that reaches
-- it (and for its physical standbys, which are never rebuilt on).
SELECT system_identifier::text AS system_identifier FROM pg_control_system();

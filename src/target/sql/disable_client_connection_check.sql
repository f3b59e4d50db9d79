-- PostgreSQL 14+: a build must outlive its client (an invocation can end before it).
SELECT set_config('client_connection_check_interval', '0', false);

-- Who this connection logged in as, and whether it sees other roles' sessions:
-- pg_read_all_stats (which pg_monitor's members and superusers have too).
SELECT current_user::text                         AS role,
       pg_has_role('pg_read_all_stats', 'USAGE') AS read_all_stats;

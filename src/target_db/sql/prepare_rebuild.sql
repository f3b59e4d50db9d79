-- Before each rebuild or drop: its lock timeout ($1, in milliseconds), and
-- maintenance_work_mem ($2, in kB) and max_parallel_maintenance_workers ($3) where
-- settings give them, else the server's own (their reset value).
SELECT set_config('lock_timeout', $1, false),
       set_config('maintenance_work_mem',
                  coalesce($2, (SELECT reset_val FROM pg_settings WHERE name = 'maintenance_work_mem')),
                  false),
       set_config('max_parallel_maintenance_workers',
                  coalesce($3, (SELECT reset_val FROM pg_settings WHERE name = 'max_parallel_maintenance_workers')),
                  false);

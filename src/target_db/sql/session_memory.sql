-- The rebuild session's maintenance_work_mem as prepare_rebuild.sql left it, in kB
-- (the setting's unit): what an HNSW rebuild's memory is never set below.
SELECT setting::bigint AS maintenance_work_mem_kb
FROM pg_settings
WHERE name = 'maintenance_work_mem';

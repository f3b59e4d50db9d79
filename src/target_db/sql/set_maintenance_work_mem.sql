-- An HNSW rebuild's maintenance_work_mem ($1, in kB), in its own session only, so
-- that pgvector's graph fits in memory.
SELECT set_config('maintenance_work_mem', $1, false);

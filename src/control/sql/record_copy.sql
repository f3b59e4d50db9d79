-- The copy a running rebuild builds, once seen.
UPDATE index_pilot.reindex_history SET copy_oid = $2 WHERE id = $1 AND copy_oid IS NULL;

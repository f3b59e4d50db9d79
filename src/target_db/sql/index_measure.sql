-- One index's size and tuple count now (GIN: its table's rows, as the scan counts).
SELECT pg_relation_size(i.oid) AS size_bytes,
       CASE WHEN am.amname = 'gin' THEN t.reltuples ELSE i.reltuples END::float8 AS reltuples
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE x.indexrelid = $1;

-- Of these index oids, the ones that no longer exist in this database.
SELECT o AS index_oid
FROM unnest($1::oid[]) AS o
WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = o AND c.relkind IN ('i', 'I'));

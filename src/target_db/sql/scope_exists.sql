-- Whether a setting's schema, table and index ($1, $2, $3: LIKE patterns, NULL for
-- any) name something in this database.
SELECT EXISTS (
    SELECT 1
    FROM pg_namespace n
    LEFT JOIN pg_class t ON t.relnamespace = n.oid AND t.relkind IN ('r', 'm', 'p')
    LEFT JOIN pg_index x ON x.indrelid = t.oid
    LEFT JOIN pg_class i ON i.oid = x.indexrelid
    WHERE ($1::text IS NULL OR n.nspname LIKE $1)
      AND ($2::text IS NULL OR t.relname LIKE $2)
      AND ($3::text IS NULL OR i.relname LIKE $3)
) AS found;

-- What the estimate of a fresh build needs, one row per column of each index asked
-- for: the index's shape and what ANALYZE knows of the column's values. pg_stats shows
-- only what this role may read; an expression's statistics are the index's own.
-- Payloads: the bytes of the most common and the histogram's values, for the types
-- whose stored width follows from them (text-like: their length; numeric: its digits).
-- For GIN over an array, its elements' frequencies and lengths, and the table's pages.
-- For pgvector's indexes, the column's type and dimensions and the index's options.
WITH wanted AS MATERIALIZED (
    SELECT unnest($1::oid[]) AS oid
),
-- The statistics of these indexes' tables and of the indexes themselves (their
-- expressions'), found by name: pg_stats filtered on names reads just those
-- relations' statistics, where a join would build all of pg_stats.
relevant AS MATERIALIZED (
    SELECT st.*
    FROM pg_stats st
    WHERE NOT st.inherited
      AND st.tablename = ANY (ARRAY(
          SELECT c.relname
          FROM wanted w
          JOIN pg_index wx ON wx.indexrelid = w.oid
          JOIN pg_class c ON c.oid IN (wx.indexrelid, wx.indrelid)))
)
SELECT x.indexrelid                                         AS index_oid,
       am.amname::text                                      AS access_method,
       current_setting('block_size')::float8                AS block_size,
       i.reltuples::float8                                  AS index_tuples,
       t.reltuples::float8                                  AS table_tuples,
       x.indisunique                                        AS is_unique,
       x.indnkeyatts::int4                                  AS key_columns,
       (SELECT o.option_value FROM pg_options_to_table(i.reloptions) o
        WHERE o.option_name = 'fillfactor')                 AS fillfactor,
       (SELECT o.option_value FROM pg_options_to_table(i.reloptions) o
        WHERE o.option_name = 'deduplicate_items')          AS deduplicate_items,
       (SELECT o.option_value FROM pg_options_to_table(i.reloptions) o
        WHERE o.option_name = 'buffering')                  AS buffering,
       -- pgvector: HNSW's connections per layer, IVFFlat's lists.
       (SELECT o.option_value FROM pg_options_to_table(i.reloptions) o
        WHERE o.option_name = 'm')                          AS hnsw_m,
       (SELECT o.option_value FROM pg_options_to_table(i.reloptions) o
        WHERE o.option_name = 'lists')                      AS ivfflat_lists,
       a.attnum::int4                                       AS attnum,
       a.attlen::int4                                       AS attlen,
       a.attalign::text                                     AS attalign,
       -- pgvector's vector and halfvec keep their dimensions in the typmod.
       ty.typname::text                                     AS type_name,
       a.atttypmod::int4                                    AS typmod,
       k.table_attnum = 0                                   AS is_expression,
       -- btree (13+): equal keys are identical, so a build may deduplicate them:
       -- btequalimage, or btvarstrequalimage under a deterministic collation.
       coalesce((SELECT p.amproc::regproc::text = 'btequalimage'
                        OR (p.amproc::regproc::text = 'btvarstrequalimage'
                            AND coalesce(coll.collisdeterministic, true))
                 FROM pg_amproc p
                 WHERE p.amprocfamily = oc.opcfamily
                   AND p.amproclefttype = oc.opcintype
                   AND p.amprocrighttype = oc.opcintype
                   AND p.amprocnum = 4), false)             AS equal_image,
       -- GiST (14+): the operator class sorts, so a build may sort.
       am.amname = 'gist' AND EXISTS (
           SELECT FROM pg_amproc p
           WHERE p.amprocfamily = oc.opcfamily
             AND p.amproclefttype = oc.opcintype
             AND p.amprocrighttype = oc.opcintype
             AND p.amprocnum = 11)                          AS sort_support,
       s.null_frac::float8                                  AS null_frac,
       s.avg_width::float8                                  AS avg_width,
       s.n_distinct::float8                                 AS n_distinct,
       s.most_common_freqs::float8[]                        AS mcv_freqs,
       CASE WHEN ty.typcategory = 'S' THEN
                (SELECT array_agg(octet_length(v)::float8) FROM unnest(s.most_common_vals::text::text[]) v)
            WHEN ty.oid = 'numeric'::regtype THEN
                (SELECT array_agg((pg_column_size(v::numeric) - 4)::float8) FROM unnest(s.most_common_vals::text::text[]) v)
       END                                                  AS mcv_payloads,
       CASE WHEN ty.typcategory = 'S' THEN
                (SELECT array_agg(octet_length(v)::float8) FROM unnest(s.histogram_bounds::text::text[]) v)
            WHEN ty.oid = 'numeric'::regtype THEN
                (SELECT array_agg((pg_column_size(v::numeric) - 4)::float8) FROM unnest(s.histogram_bounds::text::text[]) v)
       END                                                  AS histogram_payloads,
       -- GIN over an array: its elements (the last three frequencies are the
       -- minimum, the maximum and NULL's), and the distinct elements per row.
       s.most_common_elem_freqs[1:array_length(s.most_common_elem_freqs, 1) - 3]::float8[]
                                                            AS element_freqs,
       (SELECT array_agg(octet_length(v)::float8) FROM unnest(s.most_common_elems::text::text[]) v)
                                                            AS element_payloads,
       s.elem_count_histogram[array_length(s.elem_count_histogram, 1)]::float8
                                                            AS elements_per_row,
       t.relpages::float8                                   AS table_pages
FROM wanted
JOIN pg_index x ON x.indexrelid = wanted.oid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
JOIN pg_attribute a ON a.attrelid = x.indexrelid AND a.attnum > 0
JOIN pg_type ty ON ty.oid = a.atttypid
CROSS JOIN LATERAL (SELECT x.indkey[a.attnum - 1] AS table_attnum,
                           x.indclass[a.attnum - 1] AS opclass,
                           x.indcollation[a.attnum - 1] AS collation) k
LEFT JOIN pg_opclass oc ON oc.oid = k.opclass
LEFT JOIN pg_collation coll ON coll.oid = k.collation
LEFT JOIN pg_attribute ta ON ta.attrelid = x.indrelid AND ta.attnum = k.table_attnum
                          AND k.table_attnum <> 0
-- A table column's statistics are its table's; an expression's, the index's own.
CROSS JOIN LATERAL (SELECT CASE WHEN k.table_attnum <> 0 THEN tn.nspname ELSE n.nspname END AS schema_name,
                           CASE WHEN k.table_attnum <> 0 THEN t.relname ELSE i.relname END AS table_name,
                           CASE WHEN k.table_attnum <> 0 THEN ta.attname ELSE a.attname END AS column_name) named
LEFT JOIN relevant s ON s.schemaname = named.schema_name
                    AND s.tablename = named.table_name
                    AND s.attname = named.column_name
ORDER BY x.indexrelid, a.attnum;

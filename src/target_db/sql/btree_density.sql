-- How full one btree's pages are, read page by page ({schema}: pgstattuple's), and
-- the fill factor a build would pack its leaf pages to.
SELECT p.index_size::float8       AS index_size,
       p.leaf_pages::float8       AS leaf_pages,
       p.internal_pages::float8   AS internal_pages,
       p.avg_leaf_density::float8 AS avg_leaf_density,
       (SELECT o.option_value FROM pg_options_to_table(c.reloptions) o
        WHERE o.option_name = 'fillfactor') AS fillfactor,
       current_setting('block_size')::float8 AS block_size
FROM {schema}.pgstatindex($1::oid::regclass) p
JOIN pg_class c ON c.oid = $1;

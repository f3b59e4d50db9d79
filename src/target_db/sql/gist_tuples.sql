-- The live tuples of one GiST index, read page by page ({schema}: pgstattuple's).
SELECT tuple_count::float8 AS tuple_count,
       tuple_len::float8   AS tuple_len
FROM {schema}.pgstattuple($1::oid::regclass);

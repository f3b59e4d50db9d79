SELECT id, target, database_name, schema_name, table_name, index_name, key, value
FROM index_pilot.settings
ORDER BY id;

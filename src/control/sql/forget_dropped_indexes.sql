-- Indexes of this database that the last scan no longer saw ($3: every index it saw).
-- An anti-join (hash or merge): `index_oid <> ALL ($3)` compared every row with the
-- whole array, quadratic unless the server hashes the array, which 13 and 14 never
-- do, nor 15+ in a generic plan. The same rows go: $3 holds no NULL (a Rust slice of
-- oids) and index_oid is NOT NULL.
DELETE FROM index_pilot.index_state s
WHERE s.target = $1
  AND s.database_oid = $2
  AND NOT EXISTS (SELECT FROM unnest($3::oid[]) AS seen(oid) WHERE seen.oid = s.index_oid);

-- Times as whole seconds after midnight: 24:00 (allowed as an end) is 86400.
SELECT id, target, database, days,
       floor(extract(epoch FROM starts_at - time '00:00'))::integer AS starts_at,
       floor(extract(epoch FROM ends_at - time '00:00'))::integer AS ends_at,
       time_zone, comment
FROM index_pilot.maintenance_windows
ORDER BY id;

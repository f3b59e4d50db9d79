-- Takes the target's lease when it is free, expired, or already ours.
INSERT INTO index_pilot.target_leases AS l (target, holder, expires_at)
VALUES ($1, $2, now() + $3::int8 * interval '1 millisecond')
ON CONFLICT (target) DO UPDATE
SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE l.expires_at < now() OR l.holder = excluded.holder
RETURNING holder;

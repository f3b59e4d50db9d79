-- When each target was last served: the longest-waiting go first.
SELECT target, served_at
FROM index_pilot.target_progress
WHERE target = ANY ($1::text[]);

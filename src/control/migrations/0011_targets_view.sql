-- The targets view says whether each target is still configured, when it was last
-- served without error, and why it failed (a class and the error's own words).

-- The target names of the configuration, as the latest invocation that writes to
-- this database read them from INDEX_PILOT_TARGETS.
CREATE TABLE index_pilot.configuration (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    targets     text[]      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE index_pilot.target_progress
    ADD COLUMN error_class  text,
    ADD COLUMN succeeded_at timestamptz;
-- Earlier rows: served without error when their state says so.
UPDATE index_pilot.target_progress SET succeeded_at = served_at WHERE state <> 'error';

-- For people: every target, configured or once served, the longest without a
-- successful run first. `configured` is NULL until an invocation has recorded the
-- configuration.
DROP VIEW index_pilot.targets;
CREATE VIEW index_pilot.targets AS
WITH configured AS (
    SELECT unnest(c.targets) AS target FROM index_pilot.configuration c
)
SELECT coalesce(p.target, c.target)                          AS target,
       CASE WHEN EXISTS (SELECT 1 FROM index_pilot.configuration)
            THEN c.target IS NOT NULL END                    AS configured,
       coalesce(p.state, 'never served')                     AS state,
       p.error_class,
       p.reason,
       p.succeeded_at                                        AS last_success_at,
       now() - p.succeeded_at                                AS without_success_for,
       p.served_at,
       now() - p.served_at                                   AS since,
       p.run_id,
       p.hop
FROM index_pilot.target_progress p
FULL JOIN configured c ON c.target = p.target
ORDER BY p.succeeded_at NULLS FIRST, p.served_at NULLS FIRST, 1;

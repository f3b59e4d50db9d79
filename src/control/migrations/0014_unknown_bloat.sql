-- index-pilot control schema, version 14: a baseline that no estimate backs. An index
-- found by its database's first scan under initial_baseline = estimate, where no
-- estimate could be made (README: "Unknown bloat"), takes its size then as its
-- baseline with source 'no_estimate', and its verdict is 'unknown', not 'healthy',
-- until it is rebuilt or accepted. Rows set before this version keep 'current'.
ALTER TABLE index_pilot.index_state
    DROP CONSTRAINT index_state_baseline_source_check,
    ADD CONSTRAINT index_state_baseline_source_check CHECK (baseline_source IN (
        'rebuild', 'estimate', 'pgstattuple', 'current', 'no_estimate', 'first_sight',
        'accepted', 'pgstatindex')),
    DROP CONSTRAINT index_state_verdict_check,
    ADD CONSTRAINT index_state_verdict_check CHECK (verdict IN (
        'candidate', 'healthy', 'unknown', 'below_threshold', 'skipped', 'quarantined',
        'awaiting_estimate', 'no_statistics', 'ineligible', 'locked', 'not_selected',
        'rebuilt'));

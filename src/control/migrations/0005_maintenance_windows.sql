-- index-pilot control schema, version 5: maintenance windows.
--
-- A target (or one database of it) that has windows starts rebuilds only inside
-- them; one without any window may start them at any time. For a DBA:
--
--   target      a configured target name; * (any run of characters) and ? (one
--               character) are wildcards, as in index_pilot.settings.
--   database    NULL: every database of the target; else that database only.
--   days        the days a window opens on, in its time zone: a comma list of days
--               (mon, tue, ..., sun, or monday, ..., sunday, any case) and ranges
--               (mon-fri; fri-mon wraps over the weekend). Default: every day.
--   starts_at,  local times in time_zone. A window "on Friday" opens on Friday at
--   ends_at     starts_at and closes at ends_at the same day, or, when ends_at <=
--               starts_at, the next day (22:00-02:00 crosses midnight; equal times
--               make a 24-hour window). ends_at may be 24:00, the end of the day.
--               Times count to the second.
--   time_zone   an IANA name (Europe/Berlin, America/New_York, UTC). index-pilot
--               carries its own copy of the time zone database. On the days clocks
--               change, a time that does not exist (02:30 when clocks jump from
--               02:00 to 03:00) means the same time on the old offset (03:30 on the
--               new one); a time that occurs twice means its first occurrence.
--
-- Every window whose target and database match applies: they add up (a union), and
-- windows that overlap or touch make one longer window. Inside a window, a rebuild
-- starts only if its predicted duration ends before the window closes.

CREATE TABLE index_pilot.maintenance_windows (
    id         bigserial PRIMARY KEY,
    target     text NOT NULL CHECK (btrim(target) <> ''),
    database   text CHECK (btrim(database) <> ''),
    days       text NOT NULL DEFAULT 'mon-sun' CHECK (btrim(days) <> ''),
    -- PostgreSQL accepts 24:00 as a time: as a start it would be the next day's 00:00.
    starts_at  time NOT NULL CHECK (starts_at < '24:00'),
    ends_at    time NOT NULL,
    time_zone  text NOT NULL DEFAULT 'UTC' CHECK (btrim(time_zone) <> ''),
    comment    text
);

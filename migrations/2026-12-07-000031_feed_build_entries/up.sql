-- How many entries a timeline is first built with (issue 29): a member's first read requests their
-- timeline and the worker builds it from their followees' activity. Building all `timeline_entries`
-- (800) took about twice as long as 200 (README, "The home feed"), and a crowd of first reads queued
-- seconds of it; readers read the first pages. The fan-out grows the timeline up to `timeline_entries` as
-- activity arrives, and a page below its floor is read from the followees as before.
ALTER TABLE feed_settings
    ADD COLUMN build_entries integer NOT NULL DEFAULT 200 CHECK (build_entries > 0);

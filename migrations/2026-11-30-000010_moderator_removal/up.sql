-- A moderator's removal: the review (its text) or the comment stays in place as a tombstone
-- ("removed by a moderator"), so threads, counters and statistics keep their shape and stay exact.
ALTER TABLE log_entries ADD COLUMN review_removed_at TIMESTAMPTZ;
ALTER TABLE comments ADD COLUMN removed_at TIMESTAMPTZ;

-- Whether an activity is about a log entry that not everyone may read (an entry that is not public,
-- or one by a private account): kept by triggers (sql/activities_restricted.sql). The feed functions
-- run the full visibility filter over a page only when it holds such an activity (usually none), found
-- through the partial index, which holds only those.
ALTER TABLE activities ADD COLUMN restricted boolean NOT NULL DEFAULT false;

CREATE INDEX activities_restricted_idx ON activities (id) WHERE restricted;

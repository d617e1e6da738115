DROP INDEX activities_restricted_idx;
ALTER TABLE activities DROP COLUMN restricted;

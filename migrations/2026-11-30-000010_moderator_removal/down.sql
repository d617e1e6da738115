ALTER TABLE comments DROP COLUMN removed_at;
ALTER TABLE log_entries DROP COLUMN review_removed_at;

ALTER TABLE feed_settings DROP COLUMN build_entries;

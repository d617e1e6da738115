ALTER TABLE film_stats DROP COLUMN list_count;
ALTER TABLE members DROP COLUMN list_count;
DROP TABLE list_entries;
DROP TABLE lists;

DROP INDEX films_added_by_idx;
ALTER TABLE films DROP COLUMN added_by;

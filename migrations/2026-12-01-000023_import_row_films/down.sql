DROP INDEX import_rows_film_idx;
ALTER TABLE import_rows DROP COLUMN film_name, DROP COLUMN film_year;

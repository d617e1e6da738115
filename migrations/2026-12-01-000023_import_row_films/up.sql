-- The film an import row names, as columns: matching joins rows on them (by JSON extraction the
-- planner could not estimate, and a 10,000-row import spent a minute in nested loops).
ALTER TABLE import_rows
    ADD COLUMN film_name text,
    ADD COLUMN film_year integer;
UPDATE import_rows SET film_name = item->'film'->>'name', film_year = (item->'film'->>'year')::int
    WHERE item->'film' ? 'name';
CREATE INDEX import_rows_film_idx ON import_rows (job_id, film_name, film_year);

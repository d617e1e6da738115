DROP TABLE catalog_log;
DROP FUNCTION catalog_log_append_only();
DROP INDEX lists_search_idx;
DROP INDEX members_search_idx;
DROP FUNCTION member_search_key(text, text);
DROP TRIGGER films_search_titles ON films;
DROP FUNCTION film_search_titles_sync();
DROP TABLE film_search_titles;
ALTER TABLE films DROP COLUMN wikipedia_page, DROP COLUMN alternative_titles, DROP COLUMN sources;
DROP INDEX film_credits_person_idx;
CREATE INDEX film_credits_person_idx ON film_credits (person_id);
DELETE FROM film_credits WHERE role NOT IN ('director', 'cast');
ALTER TABLE film_credits DROP CONSTRAINT film_credits_role_check;
ALTER TABLE film_credits ADD CONSTRAINT film_credits_role_check CHECK (role IN ('director', 'cast'));
DROP INDEX people_search_idx;
DROP INDEX people_name_idx;
-- Two people with one name become one again.
UPDATE film_credits c SET person_id = keep.id
FROM people p, LATERAL (SELECT min(id) AS id FROM people q WHERE q.name = p.name) keep
WHERE c.person_id = p.id AND p.id <> keep.id
  AND NOT EXISTS (SELECT 1 FROM film_credits d WHERE d.film_id = c.film_id AND d.role = c.role AND d.person_id = keep.id);
DELETE FROM people p WHERE EXISTS (SELECT 1 FROM people q WHERE q.name = p.name AND q.id < p.id);
CREATE UNIQUE INDEX people_name_key ON people (name);
ALTER TABLE people DROP COLUMN slug, DROP COLUMN created_at;
DROP FUNCTION free_person_slug(text);
DROP FUNCTION search_score(text, text);
DROP FUNCTION search_key(text);

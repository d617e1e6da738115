-- An unverified film another member already logged, rated, liked or listed before imported films
-- became their importer's (000024) stays in the shared catalog: hiding it would hide those members'
-- own entries, and deleting the importer's account would delete them (added_by cascades).
UPDATE films f SET added_by = NULL
WHERE f.added_by IS NOT NULL
  AND (EXISTS (SELECT 1 FROM member_films m WHERE m.film_id = f.id AND m.member_id <> f.added_by)
    OR EXISTS (SELECT 1 FROM log_entries e WHERE e.film_id = f.id AND e.member_id <> f.added_by)
    OR EXISTS (SELECT 1 FROM list_entries le JOIN lists l ON l.id = le.list_id
               WHERE le.film_id = f.id AND l.owner_id <> f.added_by));

-- The films imports added that no admin has verified or merged yet, oldest first, with who added
-- them and how many members watched them. $1, $2: the last (created_at, id) seen; $3: how many.
SELECT f.id, f.slug, f.title, f.year, m.username AS added_by, f.created_at,
       coalesce(s.watch_count, 0) AS watchers
FROM films f
LEFT JOIN members m ON m.id = f.added_by
LEFT JOIN film_stats s ON s.film_id = f.id
WHERE NOT f.verified
  AND ($1::timestamptz IS NULL OR (f.created_at, f.id) > ($1, $2))
ORDER BY f.created_at, f.id
LIMIT $3

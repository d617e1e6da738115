-- A log entry's activity shows the entry as it is now: its kind follows whether it has review text,
-- its rating the entry's current rating.
SELECT a.id,
       CASE WHEN a.kind IN ('diary_entry', 'review')
            THEN CASE WHEN le.review_text IS NULL THEN 'diary_entry' ELSE 'review' END
            ELSE a.kind END AS kind,
       a.created_at,
       CASE WHEN a.kind IN ('diary_entry', 'review') THEN le.rating ELSE a.rating END AS rating,
       am.username AS actor_username, am.display_name AS actor_display_name,
       f.slug AS film_slug, f.title AS film_title, f.year AS film_year, f.poster_url AS film_poster_url,
       le.id AS log_entry_id, le.watched_on, le.rewatch,
       left(le.review_text, 400) AS review_head, le.contains_spoilers,
       sm.username AS subject_username,
       c.id AS comment_id, left(c.body, 400) AS comment_head
FROM page p
JOIN activities a ON a.id = p.id
JOIN members am ON am.id = a.actor_id
LEFT JOIN films f ON f.id = a.film_id
LEFT JOIN log_entries le ON le.id = a.log_entry_id
LEFT JOIN members sm ON sm.id = a.subject_member_id
LEFT JOIN comments c ON c.id = a.comment_id
ORDER BY p.created_at DESC, p.id DESC

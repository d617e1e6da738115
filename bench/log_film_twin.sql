-- SQL twin of POST /log-entries (rating and review) doing the same work in one statement: the
-- relationship upsert, the log entry and its activity (the same triggers keep the same counters).
-- :m member, :f film.
WITH rel AS (
    INSERT INTO member_films (member_id, film_id, watched, rating, updated_at)
    VALUES (:m, :f, true, 8, now())
    ON CONFLICT (member_id, film_id) DO UPDATE SET watched = true, in_watchlist = false, rating = 8, updated_at = now()
    RETURNING 1
), entry AS (
    INSERT INTO log_entries (member_id, film_id, watched_on, rating, review_text)
    VALUES (:m, :f, DATE '2026-11-01', 8, 'REVIEW_TEXT')
    RETURNING id
)
INSERT INTO activities (actor_id, kind, film_id, log_entry_id, rating)
SELECT :m, 'review', :f, entry.id, 8 FROM entry, rel;
